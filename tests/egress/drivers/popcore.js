'use strict';
// Alibaba Cloud's older Node.js SDK (@alicloud/pop-core, RPC signature V2) as a user
// configures it for each gateway mode.
//
//     node popcore.js PLAN.json
//
// Proxy mode: the endpoint names the Alibaba Cloud host over http, and DNS points it at the
// gateway (pop-core's own proxy support, tunnel-agent, tunnels with CONNECT, which proxy mode
// refuses). Intercept mode: https, the organisation's CA in NODE_EXTRA_CA_CERTS; through
// HTTPS_PROXY, a tunnel-agent httpsOverHttp agent, as pop-core's README shows.

const { RPCClient } = require('@alicloud/pop-core');
const tunnel = require('tunnel-agent');
const driver = require('./plan');

// Product: host (the region's, where the product has one) and API version.
const PRODUCTS = {
  ecs: ['ecs.cn-hangzhou.aliyuncs.com', '2014-05-26'],
  ram: ['ram.aliyuncs.com', '2015-05-01'],
  dysmsapi: ['dysmsapi.aliyuncs.com', '2017-05-25'],
  rds: ['rds.aliyuncs.com', '2014-08-15'],
  sts: ['sts.cn-hangzhou.aliyuncs.com', '2015-04-01'],
};

const PARAMS = {
  'ecs RunInstances': {
    RegionId: 'cn-hangzhou', InstanceType: 'ecs.g7.large',
    ImageId: 'aliyun_3_x64_20G_alibase_20240819.vhd',
  },
  'ecs DescribeRegions': {},
  'ram ListUsers': { MaxItems: 10 },
  'dysmsapi SendSms': {
    PhoneNumbers: '13800000000', SignName: 'Example', TemplateCode: 'SMS_000000',
  },
  'rds DescribeDBInstances': { RegionId: 'cn-hangzhou' },
  'rds DeleteDBInstance': { DBInstanceId: 'rm-example0000000' },
  'sts AssumeRole': { RoleSessionName: 'akguard-test' },
  'sts GetCallerIdentity': {},
};

// Write operations as POST: the parameters travel in a form body.
const POST = new Set(['RunInstances', 'SendSms', 'DeleteDBInstance']);

function clientFor(plan, call, credentials) {
  const [host, apiVersion] = PRODUCTS[call.product];
  const scheme = plan.mode === 'proxy' ? 'http' : 'https';
  return new RPCClient({
    accessKeyId: credentials.key,
    accessKeySecret: credentials.secret,
    securityToken: credentials.token,
    endpoint: `${scheme}://${host}`,
    apiVersion,
  });
}

function optsFor(plan, call) {
  const opts = { method: POST.has(call.action) ? 'POST' : 'GET', formatParams: false };
  if (plan.mode === 'intercept-connect') {
    const proxy = new URL(plan.connect_proxy);
    opts.agent = tunnel.httpsOverHttp({
      proxy: { host: proxy.hostname, port: Number(proxy.port) },
    });
  }
  return opts;
}

async function main() {
  const plan = driver.load();
  await driver.run(plan, async (call, credentials) => {
    const params = PARAMS[`${call.product} ${call.action}`];
    if (!params) throw new Error(`no such call in this driver: ${call.product} ${call.action}`);
    const all = call.action === 'AssumeRole' ? { ...params, RoleArn: call.role } : params;
    const client = clientFor(plan, call, credentials);
    const response = await client.request(call.action, all, optsFor(plan, call));
    const result = { request_id: response.RequestId };
    if (call.action === 'AssumeRole') {
      const issued = response.Credentials;
      result.credentials = {
        key: issued.AccessKeyId, secret: issued.AccessKeySecret, token: issued.SecurityToken,
      };
    }
    return result;
  });
}

main();

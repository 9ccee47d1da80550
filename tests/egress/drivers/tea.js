'use strict';
// Alibaba Cloud's Node.js SDKs (@alicloud/<product> over @alicloud/openapi-core) as a user
// configures them for each gateway mode; `--signature v2` selects the RPC signature V2.
//
//     node tea.js PLAN.json [--signature v2]
//
// These clients take no proxy (their httpProxy and httpsProxy settings are not used for
// API calls): they reach the gateway through DNS, over http in proxy mode, over https with
// the organisation's CA in NODE_EXTRA_CA_CERTS in intercept mode.

const Ecs = require('@alicloud/ecs20140526');
const OpenApi = require('@alicloud/openapi-core');
const Ram = require('@alicloud/ram20150501');
const Rds = require('@alicloud/rds20140815');
const Sms = require('@alicloud/dysmsapi20170525');
const Sts = require('@alicloud/sts20150401');
const Dara = require('@darabonba/typescript');
const driver = require('./plan');

const CLIENTS = { ecs: Ecs, ram: Ram, rds: Rds, dysmsapi: Sms, sts: Sts };

function configFor(plan, credentials, signature) {
  const config = new OpenApi.$OpenApiUtil.Config({
    accessKeyId: credentials.key,
    accessKeySecret: credentials.secret,
    regionId: plan.region,
  });
  if (credentials.token) {
    config.type = 'sts';
    config.securityToken = credentials.token;
  }
  if (signature === 'v2') config.signatureAlgorithm = 'v2';
  if (plan.mode === 'intercept-connect') {
    throw new Error('unsupported: these clients send API calls without a proxy');
  }
  // Plain HTTP to the gateway in proxy mode: it opens TLS to Alibaba Cloud itself.
  config.protocol = plan.mode === 'proxy' ? 'http' : 'https';
  return config;
}

function invoke(client, runtime, call) {
  switch (`${call.product} ${call.action}`) {
    case 'ecs DescribeRegions':
      return client.describeRegionsWithOptions(new Ecs.DescribeRegionsRequest({}), runtime);
    case 'ecs RunInstances':
      return client.runInstancesWithOptions(new Ecs.RunInstancesRequest({
        regionId: 'cn-hangzhou', imageId: 'aliyun_3_x64_20G_alibase_20240819.vhd',
        instanceType: 'ecs.g7.large', amount: 1,
      }), runtime);
    case 'ram ListUsers':
      return client.listUsersWithOptions(new Ram.ListUsersRequest({ maxItems: 10 }), runtime);
    case 'dysmsapi SendSms':
      return client.sendSmsWithOptions(new Sms.SendSmsRequest({
        phoneNumbers: '13800000000', signName: 'Example', templateCode: 'SMS_000000',
        templateParam: '{"code":"1234"}',
      }), runtime);
    case 'rds DescribeDBInstances':
      return client.describeDBInstancesWithOptions(
        new Rds.DescribeDBInstancesRequest({ regionId: 'cn-hangzhou' }), runtime);
    case 'rds DeleteDBInstance':
      return client.deleteDBInstanceWithOptions(
        new Rds.DeleteDBInstanceRequest({ DBInstanceId: 'rm-example0000000' }), runtime);
    case 'sts AssumeRole':
      return client.assumeRoleWithOptions(new Sts.AssumeRoleRequest({
        roleArn: call.role, roleSessionName: 'akguard-test',
      }), runtime);
    case 'sts GetCallerIdentity':
      return client.getCallerIdentityWithOptions(runtime);
    default:
      throw new Error(`no such call in this driver: ${call.product} ${call.action}`);
  }
}

async function main() {
  const plan = driver.load();
  const signature = process.argv[3] === '--signature' ? process.argv[4] : 'v3';
  await driver.run(plan, async (call, credentials) => {
    const client = new CLIENTS[call.product].default(configFor(plan, credentials, signature));
    const response = await invoke(client, new Dara.RuntimeOptions({}), call);
    const result = { request_id: response.body.requestId };
    if (call.action === 'AssumeRole') {
      const issued = response.body.credentials;
      result.credentials = {
        key: issued.accessKeyId, secret: issued.accessKeySecret, token: issued.securityToken,
      };
    }
    return result;
  });
}

main();

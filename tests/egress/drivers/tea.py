"""Alibaba Cloud's Python SDKs (alibabacloud_<product> over alibabacloud_tea_openapi) as a
user configures them for each gateway mode; `--signature v2` selects the RPC signature V2.

    tea.py PLAN.json [--signature v2]
"""

import sys

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client as Sms
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as Ecs
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as Ram
from alibabacloud_rds20140815 import models as rds_models
from alibabacloud_rds20140815.client import Client as Rds
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as Sts
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_util import models as util_models

import plan as driver

CLIENTS = {"ecs": Ecs, "ram": Ram, "dysmsapi": Sms, "rds": Rds, "sts": Sts}


def config_for(plan, credentials, signature):
    config = open_api_models.Config(
        access_key_id=credentials["key"],
        access_key_secret=credentials["secret"],
        region_id=plan["region"],
    )
    if credentials.get("token"):
        config.type = "sts"
        config.security_token = credentials["token"]
    if signature == "v2":
        config.signature_algorithm = "v2"
    if plan["mode"] == "proxy":
        # Plain HTTP to the gateway, which opens TLS to Alibaba Cloud itself.
        config.protocol = "http"
        config.http_proxy = plan["proxy"]
    elif plan["mode"] == "intercept-connect":
        config.https_proxy = plan["connect_proxy"]
    return config


def runtime_for(plan):
    runtime = util_models.RuntimeOptions()
    if plan["mode"].startswith("intercept"):
        # The organisation's CA, which issued the gateway's certificate.
        runtime.ca = plan["ca"]
    return runtime


def invoke(client, runtime, call):
    product, action = call["product"], call["action"]
    if (product, action) == ("ecs", "DescribeRegions"):
        return client.describe_regions_with_options(ecs_models.DescribeRegionsRequest(), runtime)
    if (product, action) == ("ecs", "RunInstances"):
        request = ecs_models.RunInstancesRequest(
            region_id="cn-hangzhou", image_id="aliyun_3_x64_20G_alibase_20240819.vhd",
            instance_type="ecs.g7.large", amount=1)
        return client.run_instances_with_options(request, runtime)
    if (product, action) == ("ram", "ListUsers"):
        return client.list_users_with_options(ram_models.ListUsersRequest(max_items=10), runtime)
    if (product, action) == ("dysmsapi", "SendSms"):
        request = sms_models.SendSmsRequest(
            phone_numbers="13800000000", sign_name="Example",
            template_code="SMS_000000", template_param='{"code":"1234"}')
        return client.send_sms_with_options(request, runtime)
    if (product, action) == ("rds", "DescribeDBInstances"):
        request = rds_models.DescribeDBInstancesRequest(region_id="cn-hangzhou")
        return client.describe_dbinstances_with_options(request, runtime)
    if (product, action) == ("rds", "DeleteDBInstance"):
        request = rds_models.DeleteDBInstanceRequest(dbinstance_id="rm-example0000000")
        return client.delete_dbinstance_with_options(request, runtime)
    if (product, action) == ("sts", "AssumeRole"):
        request = sts_models.AssumeRoleRequest(role_arn=call["role"], role_session_name="akguard-test")
        return client.assume_role_with_options(request, runtime)
    if (product, action) == ("sts", "GetCallerIdentity"):
        return client.get_caller_identity_with_options(runtime)
    raise ValueError(f"no such call in this driver: {product} {action}")


def main():
    plan = driver.load()
    signature = sys.argv[3] if sys.argv[2:3] == ["--signature"] else "v3"

    def call_one(call, credentials):
        client = CLIENTS[call["product"]](config_for(plan, credentials, signature))
        response = invoke(client, runtime_for(plan), call).body.to_map()
        result = {"request_id": response.get("RequestId")}
        if call["action"] == "AssumeRole":
            issued = response["Credentials"]
            result["credentials"] = {"key": issued["AccessKeyId"],
                                     "secret": issued["AccessKeySecret"],
                                     "token": issued["SecurityToken"]}
        return result

    driver.run(plan, call_one)


if __name__ == "__main__":
    main()

"""Alibaba Cloud's older Python SDK (aliyun-python-sdk-core, CommonRequest) as a user
configures it for each gateway mode.

    core.py PLAN.json
"""

import json

from aliyunsdkcore.auth.credentials import AccessKeyCredential, StsTokenCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest

import plan as driver

# Product: (host, API version). The host names the region where the product has one.
PRODUCTS = {
    "ecs": ("ecs.cn-hangzhou.aliyuncs.com", "2014-05-26"),
    "ram": ("ram.aliyuncs.com", "2015-05-01"),
    "dysmsapi": ("dysmsapi.aliyuncs.com", "2017-05-25"),
    "rds": ("rds.aliyuncs.com", "2014-08-15"),
    "sts": ("sts.cn-hangzhou.aliyuncs.com", "2015-04-01"),
}

PARAMS = {
    ("ecs", "RunInstances"): {"RegionId": "cn-hangzhou", "InstanceType": "ecs.g7.large",
                              "ImageId": "aliyun_3_x64_20G_alibase_20240819.vhd"},
    ("dysmsapi", "SendSms"): {"PhoneNumbers": "13800000000", "SignName": "Example",
                              "TemplateCode": "SMS_000000"},
    ("rds", "DescribeDBInstances"): {"RegionId": "cn-hangzhou"},
    ("rds", "DeleteDBInstance"): {"DBInstanceId": "rm-example0000000"},
    ("sts", "AssumeRole"): {"RoleSessionName": "akguard-test"},
}


def client_for(plan, credentials):
    if credentials.get("token"):
        credential = StsTokenCredential(credentials["key"], credentials["secret"],
                                        credentials["token"])
    else:
        credential = AccessKeyCredential(credentials["key"], credentials["secret"])
    options = {}
    if plan["mode"] == "proxy":
        options["proxy"] = {"http": plan["proxy"]}
    elif plan["mode"] == "intercept-connect":
        options["proxy"] = {"https": plan["connect_proxy"]}
    if plan["mode"].startswith("intercept"):
        # The organisation's CA, which issued the gateway's certificate.
        options["verify"] = plan["ca"]
    return AcsClient(region_id=plan["region"], credential=credential, **options)


def request_for(plan, call):
    host, version = PRODUCTS[call["product"]]
    request = CommonRequest(domain=host, version=version, action_name=call["action"])
    request.set_accept_format("json")
    # Plain HTTP in proxy mode: the gateway opens TLS to Alibaba Cloud itself.
    request.set_protocol_type("http" if plan["mode"] == "proxy" else "https")
    if call["action"] in ("RunInstances", "SendSms", "DeleteDBInstance"):
        # Write operations as POST: the parameters travel in a form body.
        request.set_method("POST")
    for name, value in PARAMS.get((call["product"], call["action"]), {}).items():
        request.add_query_param(name, value) if request.get_method() == "GET" \
            else request.add_body_params(name, value)
    if call["action"] == "AssumeRole":
        request.add_query_param("RoleArn", call["role"])
    return request


def main():
    plan = driver.load()

    def call_one(call, credentials):
        response = json.loads(client_for(plan, credentials).do_action_with_exception(
            request_for(plan, call)))
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

"""Alibaba Cloud's OSS Python SDK (oss2) as a user configures it for each gateway mode.

    oss.py PLAN.json

Each call is {"id", "op": "put" | "get" | "head" | "delete", "bucket", "object", "auth":
"v1" | "v4", "key", "secret"}. An error is reported with oss2's own fields: `code`, `status`,
`message` (the error document's Message) and `request_id`.
"""

import os

import oss2

import plan as driver


def endpoint_for(plan):
    host = f"oss-{plan['region']}.aliyuncs.com"
    # Plain HTTP to the gateway in proxy mode: the gateway opens TLS to Alibaba Cloud itself.
    return ("http://" if plan["mode"] == "proxy" else "https://") + host


def proxies_for(plan):
    if plan["mode"] == "proxy":
        return {"http": plan["proxy"]}
    if plan["mode"] == "intercept-connect":
        return {"https": plan["connect_proxy"]}
    return None


def bucket_for(plan, call, credentials):
    if call["auth"] == "v4":
        auth = oss2.AuthV4(credentials["key"], credentials["secret"])
    else:
        auth = oss2.Auth(credentials["key"], credentials["secret"])
    return oss2.Bucket(auth, endpoint_for(plan), call["bucket"], region=plan["region"],
                       proxies=proxies_for(plan))


def invoke(bucket, call):
    op, name = call["op"], call["object"]
    if op == "put":
        return bucket.put_object(name, b"hello from akguard's test\n"), None
    if op == "get":
        result = bucket.get_object(name)
        return result, result.read().decode()
    if op == "head":
        return bucket.head_object(name), None
    if op == "delete":
        return bucket.delete_object(name), None
    raise ValueError(f"no such operation in this driver: {op}")


def main():
    plan = driver.load()
    if plan["mode"].startswith("intercept"):
        # requests (under oss2) trusts the organisation's CA through this variable.
        os.environ["REQUESTS_CA_BUNDLE"] = plan["ca"]

    def call_one(call, credentials):
        try:
            result, content = invoke(bucket_for(plan, call, credentials), call)
        except oss2.exceptions.OssError as error:
            # oss2's errors carry the reply's fields; report them as the test reads them.
            raise OssFailure(error) from error
        out = {"request_id": result.request_id, "status": result.status}
        if content is not None:
            out["content"] = content
        return out

    driver.run(plan, call_one)


class OssFailure(Exception):
    """An oss2 error with the fields the test checks."""

    def __init__(self, error):
        super().__init__(str(error))
        self.code = error.code
        self.status_code = error.status
        self.message = error.message
        self.request_id = error.request_id


if __name__ == "__main__":
    main()

//! Credentials minted by a leaked key, through a real Envoy with two workers: akguard in
//! front of a stand-in STS and ECS (a second listener of the same Envoy, reached through a
//! cluster) that answers `AssumeRole` in Alibaba Cloud's JSON and XML shapes.
//!
//! The STS key issued to a leaked key is denied for listed operations on every worker until
//! it expires; keys issued to clean keys, and keys already expired, are not; an answer whose
//! credentials cannot be read is replaced by a deny; `deny_credential_calls` denies the
//! `AssumeRole` itself.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod envoy;

use envoy::bootstrap::{akguard_filter, bootstrap, cluster_route, listener, listener_on};
use envoy::bootstrap::{loopback_cluster, virtual_host, UPSTREAM_BODY};
use envoy::client::{send, Request, Version};
use envoy::{free_port, Envoy, Options};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

const LEAKED: &str = "LTAI5tLeakedKey000000001";
const CLEAN: &str = "LTAI5tCleanKey0000000001";
/// Issued by the stand-in STS, by `RoleSessionName`.
const MINTED_JSON: &str = "STS.NTLeakedMintJson01";
const MINTED_XML: &str = "STS.NTLeakedMintXml001";
const MINTED_CLEAN: &str = "STS.NTCleanMinted00001";
const MINTED_EXPIRED: &str = "STS.NTExpiredMinted001";

/// `YYYY-MM-DDTHH:MM:SSZ` of a time in seconds since the Unix epoch.
fn utc(secs: u64) -> String {
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

fn in_an_hour() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    utc(now.as_secs() + 3600)
}

fn assume_role_json(id: &str, expiration: &str) -> String {
    json!({
        "RequestId": "6894B13B-6D71-4EF5-88FA-F32781734A7F",
        "AssumedRoleUser": {
            "Arn": "acs:ram::123456789012****:role/adminrole/alice",
            "AssumedRoleId": "34458433936495****:alice"
        },
        "Credentials": {
            "SecurityToken": "CAIS+gF1q6Ft5B2yfSjIr5bkKILdgbxw1pe6Vnbz0TIxeeF5oqzH1Dz2IHFPeHJrBeAYt/o1nWlU7f4Ylq",
            "AccessKeyId": id,
            "AccessKeySecret": "3dZn8KyaYWfvrBR4ZamVgEjQr5bQ8UNdr5ZpvMhcQxk",
            "Expiration": expiration
        }
    })
    .to_string()
}

fn assume_role_xml(id: &str, expiration: &str) -> String {
    format!(
        "<?xml version='1.0' encoding='UTF-8'?><AssumeRoleResponse><RequestId>6894B13B</RequestId>\
         <AssumedRoleUser><Arn>acs:ram::1:role/r/alice</Arn><AssumedRoleId>1:alice</AssumedRoleId></AssumedRoleUser>\
         <Credentials><AccessKeySecret>3dZn8Kya</AccessKeySecret><Expiration>{expiration}</Expiration>\
         <AccessKeyId>{id}</AccessKeyId><SecurityToken>CAIS+gF1</SecurityToken></Credentials></AssumeRoleResponse>"
    )
}

/// A stand-in route: requests whose `RoleSessionName` is `session` get `body`.
fn sts_route(session: &str, content_type: &str, body: &str) -> Value {
    json!({
        "name": format!("sts-{session}"),
        "match": {
            "prefix": "/",
            "query_parameters": [{ "name": "RoleSessionName", "string_match": { "exact": session } }]
        },
        "direct_response": { "status": 200, "body": { "inline_string": body } },
        "response_headers_to_add": [{ "header": { "key": "content-type", "value": content_type } }]
    })
}

/// The stand-in STS (by `RoleSessionName`) and ECS (every other request).
fn stand_in_routes() -> Vec<Value> {
    let json_type = "application/json;charset=utf-8";
    let expires = in_an_hour();
    vec![
        sts_route(
            "leaked",
            json_type,
            &assume_role_json(MINTED_JSON, &expires),
        ),
        sts_route(
            "leaked-xml",
            "text/xml;charset=utf-8",
            &assume_role_xml(MINTED_XML, &expires),
        ),
        sts_route(
            "clean",
            json_type,
            &assume_role_json(MINTED_CLEAN, &expires),
        ),
        sts_route(
            "expired",
            json_type,
            &assume_role_json(MINTED_EXPIRED, "2020-01-01T00:00:00Z"),
        ),
        sts_route("garbled", json_type, &assume_role_json(MINTED_JSON, "soon")),
        sts_route(
            "garbled-xml",
            "text/xml;charset=utf-8",
            &assume_role_xml("STS.&amp;NotReadable", &expires),
        ),
        sts_route(
            "denied",
            json_type,
            r#"{"RequestId":"1","HostId":"sts.aliyuncs.com","Code":"NoPermission","Message":"You are not authorized to do this action."}"#,
        ),
        json!({
            "name": "ecs",
            "match": { "prefix": "/" },
            "direct_response": { "status": 200, "body": { "inline_string": UPSTREAM_BODY } }
        }),
    ]
}

/// An Envoy with two workers and akguard (`config`, `allow_stop`) on `front`, in front of the stand-ins.
fn start(config: &str, allow_stop: bool) -> Envoy {
    let upstream_port = free_port();
    let front = listener(
        "front",
        vec![virtual_host(
            "api",
            &["*"],
            vec![cluster_route("api", "api")],
        )],
        vec![akguard_filter(config, allow_stop)],
    );
    // The stand-in compresses its answers when the client accepts it, as servers may.
    let gzip = json!({
        "name": "envoy.filters.http.compressor",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor",
            "compressor_library": {
                "name": "gzip",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip"
                }
            }
        }
    });
    let upstream = listener_on(
        "stand_in",
        upstream_port,
        vec![virtual_host("stand_in", &["*"], stand_in_routes())],
        vec![gzip],
    );
    Envoy::start(
        &bootstrap(
            vec![front, upstream],
            vec![loopback_cluster("api", upstream_port)],
        ),
        &Options {
            concurrency: 2,
            tag: "minted".into(),
        },
    )
}

/// An `AssumeRole` call as the SDKs send it, accepting a compressed answer.
fn assume_role(key: &str, session: &str, format: &str) -> Request {
    Request::get(
        "sts.aliyuncs.com",
        &format!(
            "/?Action=AssumeRole&Version=2015-04-01&Format={format}&RoleArn=acs%3Aram%3A%3A1%3Arole%2Fr\
             &RoleSessionName={session}&AccessKeyId={key}&SignatureMethod=HMAC-SHA1&Signature=abc%3D"
        ),
    )
    .header("accept-encoding", "gzip")
}

fn ecs(key: &str, action: &str) -> Request {
    Request::get(
        "ecs.cn-hangzhou.aliyuncs.com",
        &format!("/?Action={action}&Version=2014-05-26&AccessKeyId={key}&Signature=abc%3D"),
    )
}

/// A V3-signed call (the form the SDKs send STS keys in).
fn ecs_v3(key: &str, action: &str) -> Request {
    Request::get("ecs.cn-hangzhou.aliyuncs.com", "/")
        .header("x-acs-action", action)
        .header("x-acs-version", "2014-05-26")
        .header("x-acs-accesskey-id", key)
        .header("x-acs-security-token", "CAIS+gF1")
        .header(
            "authorization",
            &format!("ACS3-HMAC-SHA256 Credential={key},SignedHeaders=host,Signature=00"),
        )
}

/// Sends `request` `rounds` times over each HTTP version, each on a connection of its own
/// (so both workers take some), and returns the statuses seen.
fn statuses(port: u16, request: &Request, rounds: usize) -> Vec<u16> {
    let mut seen = Vec::new();
    for version in [Version::Http1, Version::H2c] {
        for _ in 0..rounds {
            seen.push(send(version, port, request).status);
        }
    }
    seen
}

/// The Envoy threads (workers) that logged a deny naming `masked`.
fn denying_threads(envoy: &Envoy, masked: &str) -> BTreeSet<String> {
    envoy
        .log()
        .lines()
        .filter(|l| l.contains("akguard deny:") && l.contains(&format!("key={masked} ")))
        .filter_map(|l| l.split(['[', ']']).nth(3).map(str::to_string))
        .collect()
}

/// The leaked key's `AssumeRole` passes, as on Alibaba Cloud, with its answer unchanged,
/// and the key it issues is recorded.
fn leaked_key_assumes_a_role(envoy: &Envoy, port: u16) {
    let issued = send(Version::Http1, port, &assume_role(LEAKED, "leaked", "JSON"));
    assert_eq!(issued.status, 200, "{}", issued.body);
    assert_eq!(
        issued.header("content-encoding"),
        None,
        "asked for unencoded"
    );
    let answer: Value = serde_json::from_str(&issued.body).unwrap();
    assert_eq!(answer["Credentials"]["AccessKeyId"], MINTED_JSON);
    assert!(answer["Credentials"]["AccessKeySecret"].is_string());
    let line = envoy.wait_log_line(&["akguard minted-key:", "key=STS.****on01"]);
    assert!(line.contains("issued_to=LTAI****0001"), "{line}");
    assert!(
        !envoy.log().contains(MINTED_JSON),
        "the minted key is logged masked"
    );
}

#[test]
fn a_key_minted_by_a_leaked_key_is_denied_on_every_worker_until_it_expires() {
    let envoy = start(&format!(r#"{{"leaked_keys": ["{LEAKED}"]}}"#), false);
    let port = envoy.port("front");
    leaked_key_assumes_a_role(&envoy, port);

    // The minted key calling a listed operation: denied, whichever worker takes it.
    let rounds = 8;
    let denied = statuses(port, &ecs(MINTED_JSON, "RunInstances"), rounds);
    assert!(denied.iter().all(|s| *s == 403), "{denied:?}");
    let denied = statuses(port, &ecs_v3(MINTED_JSON, "DeleteInstance"), rounds);
    assert!(denied.iter().all(|s| *s == 403), "{denied:?}");
    assert_eq!(
        denying_threads(&envoy, "STS.****on01").len(),
        2,
        "both workers deny the key one of them recorded"
    );
    let reply = send(Version::Http1, port, &ecs(MINTED_JSON, "RunInstances"));
    assert!(
        reply
            .body
            .contains("There is a risk of leakage of this AccessKey."),
        "{}",
        reply.body
    );
    // A harmless call with it passes, as for any leaked key.
    let passed = statuses(port, &ecs(MINTED_JSON, "DescribeRegions"), 2);
    assert!(passed.iter().all(|s| *s == 200), "{passed:?}");

    // Asked for in XML.
    let issued = send(
        Version::H2c,
        port,
        &assume_role(LEAKED, "leaked-xml", "XML"),
    );
    assert_eq!(issued.status, 200, "{}", issued.body);
    assert!(issued.body.contains(MINTED_XML));
    let denied = statuses(port, &ecs(MINTED_XML, "RunInstances"), rounds);
    assert!(denied.iter().all(|s| *s == 403), "{denied:?}");

    // A clean key's AssumeRole: its key is not minted by a leaked one (and its answer, not
    // read, comes compressed as asked).
    let issued = send(Version::Http1, port, &assume_role(CLEAN, "clean", "JSON"));
    assert_eq!(issued.status, 200);
    assert_eq!(issued.header("content-encoding"), Some("gzip"));
    let passed = statuses(port, &ecs(MINTED_CLEAN, "RunInstances"), rounds);
    assert!(passed.iter().all(|s| *s == 200), "{passed:?}");

    // A key issued already expired is never leaked.
    let issued = send(
        Version::Http1,
        port,
        &assume_role(LEAKED, "expired", "JSON"),
    );
    assert_eq!(issued.status, 200);
    assert!(issued.body.contains(MINTED_EXPIRED));
    let passed = statuses(port, &ecs(MINTED_EXPIRED, "RunInstances"), rounds);
    assert!(passed.iter().all(|s| *s == 200), "{passed:?}");

    // An STS error issues nothing, and passes unchanged.
    let error = send(Version::Http1, port, &assume_role(LEAKED, "denied", "JSON"));
    assert_eq!(error.status, 200);
    assert!(error.body.contains("NoPermission"), "{}", error.body);

    // Credentials that cannot be read: without hold_headers the status has gone on, and
    // the body is replaced by the deny document.
    let replaced = send(
        Version::Http1,
        port,
        &assume_role(LEAKED, "garbled", "JSON"),
    );
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert!(
        !replaced.body.contains("AccessKeySecret"),
        "{}",
        replaced.body
    );
    assert!(
        replaced.body.contains("\"Code\":\"Forbidden\""),
        "{}",
        replaced.body
    );
    envoy.wait_log_line(&["rule=unreadable-credentials", "key=LTAI****0001"]);

    assert_eq!(envoy.stat("wasmcustom.akguard.minted_keys_recorded"), 2);
    assert_eq!(envoy.stat("wasmcustom.akguard.credentials_unreadable"), 1);
    assert_eq!(
        envoy.settled_stat("wasmcustom.akguard.minted_keys_in_force", 2),
        2
    );
    // Every minted-key deny, and the replaced answer.
    let denies = (2 * 2 * rounds + 1 + 2 * rounds + 1) as u64;
    assert_eq!(envoy.stat("wasmcustom.akguard.denied"), denies);
}

#[test]
fn with_hold_headers_an_unreadable_answer_becomes_a_403() {
    let config = format!(r#"{{"leaked_keys": ["{LEAKED}"], "hold_headers": true}}"#);
    let envoy = start(&config, true);
    let port = envoy.port("front");
    leaked_key_assumes_a_role(&envoy, port);
    let denied = statuses(port, &ecs(MINTED_JSON, "RunInstances"), 4);
    assert!(denied.iter().all(|s| *s == 403), "{denied:?}");
    for version in [Version::Http1, Version::H2c] {
        let replaced = send(version, port, &assume_role(LEAKED, "garbled-xml", "XML"));
        assert_eq!(replaced.status, 403, "{}", replaced.body);
        assert!(
            !replaced.body.contains("AccessKeySecret"),
            "{}",
            replaced.body
        );
        assert!(
            replaced.body.contains("<Code>Forbidden</Code>"),
            "{}",
            replaced.body
        );
        assert!(replaced
            .header("content-type")
            .unwrap_or("")
            .contains("xml"));
    }
    assert_eq!(envoy.stat("wasmcustom.akguard.credentials_unreadable"), 2);
}

#[test]
fn deny_credential_calls_denies_the_leaked_keys_assume_role() {
    let envoy = start(
        &format!(r#"{{"leaked_keys": ["{LEAKED}"], "deny_credential_calls": true}}"#),
        false,
    );
    let port = envoy.port("front");
    for version in [Version::Http1, Version::H2c] {
        let denied = send(version, port, &assume_role(LEAKED, "leaked", "JSON"));
        assert_eq!(denied.status, 403, "{}", denied.body);
        assert!(!denied.body.contains(MINTED_JSON));
        let passed = send(version, port, &assume_role(CLEAN, "clean", "JSON"));
        assert_eq!(passed.status, 200, "{}", passed.body);
    }
    envoy.wait_log_line(&["rule=credential-call", "key=LTAI****0001", "product=sts"]);
    assert_eq!(envoy.stat("http.stand_in.downstream_rq_total"), 2);
    assert_eq!(envoy.stat("wasmcustom.akguard.minted_keys_recorded"), 0);
}

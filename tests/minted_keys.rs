//! Keys minted by leaked keys, through the policy core: a leaked key's credential call is
//! let through and marked for its response to be read, and a key recorded as minted is
//! decided as a leaked one while it is in force.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use akguard::core::check::{RequestCheck, Step};
use akguard::core::config::{self, Policy};
use akguard::core::minted::{MintedLookup, MintedSet};

const LEAKED: &str = "LTAI5tLeakedKey000000001";
const CLEAN: &str = "LTAI5tCleanKey0000000001";
const MINTED: &str = "STS.NTestMinted0001";

fn policy(extra: &str) -> Policy {
    config::load(format!(r#"{{"leaked_keys": ["{LEAKED}"]{extra}}}"#).as_bytes())
        .unwrap()
        .policy
}

fn get(host: &str, query: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        (":method".into(), "GET".into()),
        (":authority".into(), host.into()),
        (":path".into(), format!("/?{query}").into()),
    ]
}

/// The minted set at a fixed time, counting its lookups.
struct At<'a> {
    set: &'a MintedSet,
    now: u64,
    lookups: usize,
}

impl MintedLookup for At<'_> {
    fn is_minted(&mut self, key: &[u8]) -> bool {
        self.lookups += 1;
        self.set.contains(key, self.now)
    }
}

#[test]
fn a_leaked_keys_credential_call_passes_with_its_response_to_read() {
    let p = policy("");
    let started = RequestCheck::start(
        &p,
        &get(
            "sts.aliyuncs.com",
            &format!("Action=AssumeRole&AccessKeyId={LEAKED}"),
        ),
        true,
    );
    assert_eq!(started.step, Step::Allow);
    let call = started.credential_call.expect("the response is to be read");
    assert_eq!(call.masked_key, "LTAI****0001");
    assert_eq!(call.host, "sts.aliyuncs.com");
    let reply = call.reply("id-1");
    assert_eq!(reply.status, 403);
    assert!(reply
        .body
        .contains("There is a risk of leakage of this AccessKey."));
    assert!(call
        .unreadable_line("id-1")
        .contains("rule=unreadable-credentials"));
    assert!(!call
        .recorded_line("STS.****0001", 5, "id-1")
        .contains(LEAKED));

    for (host, query) in [
        (
            "sts.aliyuncs.com",
            format!("Action=AssumeRole&AccessKeyId={CLEAN}"),
        ),
        (
            "sts.aliyuncs.com",
            format!("Action=GetCallerIdentity&AccessKeyId={LEAKED}"),
        ),
        (
            "ecs.aliyuncs.com",
            format!("Action=DescribeRegions&AccessKeyId={LEAKED}"),
        ),
        (
            "ecs.aliyuncs.com",
            format!("Action=RunInstances&AccessKeyId={LEAKED}"),
        ),
    ] {
        let started = RequestCheck::start(&p, &get(host, &query), true);
        assert_eq!(started.credential_call, None, "{host} {query}");
    }

    let shadow = policy(r#", "mode": "shadow", "deny_credential_calls": true"#);
    let started = RequestCheck::start(
        &shadow,
        &get(
            "sts.aliyuncs.com",
            &format!("Action=AssumeRole&AccessKeyId={LEAKED}"),
        ),
        true,
    );
    assert!(matches!(started.step, Step::Deny(_)));
    assert!(
        started.credential_call.is_some(),
        "a shadow deny lets it through"
    );
    let enforce = policy(r#", "deny_credential_calls": true"#);
    let started = RequestCheck::start(
        &enforce,
        &get(
            "sts.aliyuncs.com",
            &format!("Action=AssumeRole&AccessKeyId={LEAKED}"),
        ),
        true,
    );
    assert!(started.credential_call.is_none(), "a deny issues nothing");
}

#[test]
fn a_credential_call_in_a_form_body_is_marked_once_read() {
    let p = policy("");
    let mut headers = get("sts.aliyuncs.com", &format!("AccessKeyId={LEAKED}"));
    headers[0].1 = b"POST".to_vec();
    headers.push((
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    let started = RequestCheck::start(&p, &headers, false);
    assert_eq!(started.step, Step::ReadBody);
    let mut check = started.check.unwrap();
    let step = check.body(&p, b"RoleArn=r&Action=AssumeRole", true);
    assert_eq!(step, Step::Allow);
    assert!(check.credential_call(&p, &step).is_some());
}

#[test]
fn a_minted_key_is_leaked_until_it_expires() {
    let p = policy("");
    let mut set = MintedSet::default();
    assert!(set.record(MINTED.as_bytes(), 2_000, 1_000));
    let run = |query: String, now: u64| {
        let mut at = At {
            set: &set,
            now,
            lookups: 0,
        };
        let headers = get("ecs.cn-hangzhou.aliyuncs.com", &query);
        let started = RequestCheck::start_with(&p, &mut at, &headers, true);
        (started.step, at.lookups)
    };
    let (step, lookups) = run(format!("Action=RunInstances&AccessKeyId={MINTED}"), 1_500);
    let Step::Deny(denial) = step else {
        panic!("the minted key is leaked: {step:?}")
    };
    assert_eq!(denial.masked_key, "STS.****0001");
    assert_eq!(lookups, 1);
    let (step, _) = run(
        format!("Action=DescribeRegions&AccessKeyId={MINTED}"),
        1_500,
    );
    assert_eq!(
        step,
        Step::Allow,
        "a harmless call passes, as for any leaked key"
    );
    let (step, _) = run(format!("Action=RunInstances&AccessKeyId={MINTED}"), 2_000);
    assert_eq!(step, Step::Allow, "expired");
    let (step, lookups) = run(format!("Action=RunInstances&AccessKeyId={CLEAN}"), 1_500);
    assert_eq!(
        (step, lookups),
        (Step::Allow, 0),
        "only STS. readings are looked up"
    );
    let (step, _) = run(
        "Action=RunInstances&AccessKeyId=STS.NTestOther00001".into(),
        1_500,
    );
    assert_eq!(step, Step::Allow);

    // In a form body, and in a V3 signature's header.
    let mut at = At {
        set: &set,
        now: 1_500,
        lookups: 0,
    };
    let mut headers = get("ecs.aliyuncs.com", "Action=RunInstances");
    headers[0].1 = b"POST".to_vec();
    headers.push((
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    let started = RequestCheck::start_with(&p, &mut at, &headers, false);
    let mut check = started.check.unwrap();
    let step = check.body_with(
        &p,
        &mut at,
        format!("AccessKeyId={MINTED}").as_bytes(),
        true,
    );
    assert!(matches!(step, Step::Deny(_)), "{step:?}");
    let mut headers = get("ecs.aliyuncs.com", "");
    headers.push(("x-acs-action".into(), "RunInstances".into()));
    headers.push((
        "authorization".into(),
        format!("ACS3-HMAC-SHA256 Credential={MINTED},SignedHeaders=host,Signature=00").into(),
    ));
    let started = RequestCheck::start_with(&p, &mut at, &headers, true);
    assert!(matches!(started.step, Step::Deny(_)));
}

//! Property: a request's verdict does not depend on how its body is cut into chunks. Requests
//! are generated from pieces of the evasion suite (keys, actions, encodings, separators,
//! content types, hosts) and random bytes; each body is fed whole, at random cut points and
//! one byte a chunk.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use akguard::core::check::{RequestCheck, Step};
use akguard::core::config::{self, Policy};
use proptest::prelude::*;

const CONFIG: &str = concat!(
    r#"{"leaked_keys": ["LTAI5tLeakedKey000000001", "STS.LeakedTemporaryKey01", "#,
    r#""sha256:cf34c8cebd99901fb465d8acfd92bd2586d2d3bfb016b9f602afd51cd53f9119"], "#,
    r#""max_body_bytes": 512}"#
);

fn policy() -> Policy {
    config::load(CONFIG.as_bytes()).unwrap().policy
}

fn verdict(policy: &Policy, headers: &[(String, Vec<u8>)], chunks: &[&[u8]]) -> String {
    let started = RequestCheck::start(policy, headers, chunks.is_empty());
    let mut step = started.step;
    if step == Step::ReadBody {
        let mut check = started.check.unwrap();
        for (i, chunk) in chunks.iter().enumerate() {
            step = check.body(policy, chunk, i + 1 == chunks.len());
            if step != Step::ReadBody {
                break;
            }
        }
    }
    match step {
        Step::Allow => "allow".into(),
        Step::ReadBody => "still reading".into(),
        Step::Deny(denial) => format!("deny {}", denial.reply("id").status),
    }
}

fn piece(options: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(options).prop_map(str::to_string)
}

fn pair() -> impl Strategy<Value = String> {
    let names = &[
        "Action",
        "action",
        "Act%69on",
        "Act%2569on",
        "AccessKeyId",
        "Access%4BeyId",
        "accesskeyid",
        "x-oss-credential",
        "Version",
        "Format",
        "Pad",
        "",
    ];
    let values = &[
        "RunInstances",
        "DescribeRegions",
        "runinstances",
        "%52unInstances",
        "%2552unInstances",
        "Run+Instances",
        "",
        "LTAI5tLeakedKey000000001",
        "LTAI5tCleanKey0000000001",
        "STS.LeakedTemporaryKey01",
        "LTAI5tHashedLeakedKey001",
        "%4CTAI5tLeakedKey000000001",
        "%20LTAI5tLeakedKey000000001%00",
        "XML",
        "x%3D1%26y",
    ];
    (piece(names), piece(&["=", "", "=="]), piece(values))
        .prop_map(|(n, eq, v)| format!("{n}{eq}{v}"))
}

fn params() -> impl Strategy<Value = Vec<u8>> {
    let separators = &["&", ";", "&&", "#", "&;"];
    (
        proptest::collection::vec((pair(), piece(separators)), 0..6),
        proptest::collection::vec(
            proptest::sample::select(b"=&;%+#AaZz09 \x00\xff".to_vec()),
            0..12,
        ),
        any::<bool>(),
    )
        .prop_map(|(pairs, junk, junk_first)| {
            let mut text: Vec<u8> = pairs
                .iter()
                .flat_map(|(p, s)| format!("{p}{s}").into_bytes())
                .collect();
            if junk_first {
                text.splice(0..0, junk);
            } else {
                text.extend(junk);
            }
            text
        })
}

fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let hosts = &[
        "ecs.cn-hangzhou.aliyuncs.com",
        "ECS.aliyuncs.com.:443",
        "ram.aliyuncs.com",
        "sts.aliyuncs.com",
        "api.example.com",
        "",
    ];
    let content_types = &[
        "",
        "application/x-www-form-urlencoded",
        "APPLICATION/X-WWW-FORM-URLENCODED; charset=UTF-8",
        "application/json",
        "-",
    ];
    let extras = &[
        "",
        "x-acs-action: RunInstances",
        "x-acs-action: DescribeRegions",
        "x-acs-accesskey-id: STS.LeakedTemporaryKey01",
        "authorization: ACS3-HMAC-SHA256 Credential=LTAI5tLeakedKey000000001,Signature=x",
        "authorization: acs LTAI5tCleanKey0000000001:sig",
    ];
    (piece(hosts), piece(content_types), piece(extras), params()).prop_map(
        |(host, content_type, extra, query)| {
            let mut path = b"/?".to_vec();
            path.extend(query);
            let mut headers = vec![
                (":method".to_string(), b"POST".to_vec()),
                (":authority".to_string(), host.into_bytes()),
                (":path".to_string(), path),
            ];
            if content_type != "-" {
                headers.push(("content-type".into(), content_type.into_bytes()));
            }
            if let Some((name, value)) = extra.split_once(": ") {
                headers.push((name.into(), value.as_bytes().to_vec()));
            }
            headers
        },
    )
}

fn cut(body: &[u8], mut points: Vec<usize>) -> Vec<&[u8]> {
    points.iter_mut().for_each(|p| *p %= body.len() + 1);
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for p in points {
        chunks.push(&body[start..p]);
        start = p;
    }
    chunks.push(&body[start..]);
    chunks
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn verdict_does_not_depend_on_body_chunking(
        headers in headers(),
        body in params(),
        padding in 0usize..600,
        points in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let policy = policy();
        let mut body = body;
        if padding > 400 {
            body.extend(std::iter::repeat_n(b'p', padding));
        }
        let whole: Vec<&[u8]> = if body.is_empty() { vec![] } else { vec![&body] };
        let want = verdict(&policy, &headers, &whole);
        prop_assert_ne!(&want, "still reading");
        if !body.is_empty() {
            let chunks = cut(&body, points);
            prop_assert_eq!(&verdict(&policy, &headers, &chunks), &want, "chunks {:?}", chunks);
            let bytes: Vec<&[u8]> = body.chunks(1).collect();
            prop_assert_eq!(&verdict(&policy, &headers, &bytes), &want, "one byte a chunk");
            let mut with_empty = chunks.clone();
            with_empty.insert(0, &[]);
            with_empty.push(&[]);
            prop_assert_eq!(&verdict(&policy, &headers, &with_empty), &want, "empty chunks");
        }
    }
}

//! Hostile request generators: bodies and headers shaped to make a filter do more than linear
//! work or hold more than bounded state, each beside a plain request of the same size. Shared
//! by the tests that bound the check's state and verdicts (`tests/hostile_bounds.rs`,
//! `tests/wasm_hostile.rs`, `tests/envoy_held_bodies.rs`) and the benchmark that times them
//! (`benches/hostile.rs`).

#![allow(dead_code)]

/// The leaked key of [`CONFIG`].
pub const LEAKED: &str = "LTAI5tLeakedKey000000001";
/// A key [`CONFIG`] does not hold.
pub const CLEAN: &str = "LTAI5tCleanKey0000000001";

/// Plain IDs and a `sha256:` entry (of `LTAI5tHashedLeakedKey001`), so digest lookups are in
/// play; `max_body_bytes` large enough for the 1 MiB bodies.
pub const CONFIG: &str = concat!(
    r#"{"leaked_keys": ["LTAI5tLeakedKey000000001", "STS.LeakedTemporaryKey01", "#,
    r#""sha256:cf34c8cebd99901fb465d8acfd92bd2586d2d3bfb016b9f602afd51cd53f9119"], "#,
    r#""max_body_bytes": 2097152}"#
);

/// One mebibyte.
pub const MIB: usize = 1 << 20;

/// A generated request: extra headers (besides `:method`, `:path`, `:authority`), and a form
/// body.
pub struct Hostile {
    pub name: &'static str,
    /// What the pattern aims at.
    pub aim: &'static str,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A distinct short name for `i`: letters only, so each is a plain action.
fn word(mut i: usize) -> String {
    const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::new();
    loop {
        out.push(LETTERS[i % LETTERS.len()] as char);
        i /= LETTERS.len();
        if i == 0 {
            return out;
        }
    }
}

/// Repeats `piece(i)` for i = 0, 1, … until `size` bytes, cut to exactly `size`.
fn fill(size: usize, mut piece: impl FnMut(usize) -> String) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 64);
    let mut i = 0;
    while out.len() < size {
        out.extend_from_slice(piece(i).as_bytes());
        i += 1;
    }
    out.truncate(size);
    out
}

fn form() -> Vec<(String, String)> {
    vec![(
        "content-type".into(),
        "application/x-www-form-urlencoded".into(),
    )]
}

/// The plain baseline: a form body of ordinary RPC parameters (`Tag.N.Key`, `Tag.N.Value`,
/// `InstanceId.N`), with the call's `Action` once near the start.
pub fn plain_form(size: usize) -> Hostile {
    let mut body = b"Action=DescribeInstances&RegionId=cn-hangzhou&".to_vec();
    body.extend(fill(size - body.len(), |i| match i % 3 {
        0 => format!("Tag.{i}.Key=owner-{i}&"),
        1 => format!("Tag.{i}.Value=team-{i:06}&"),
        _ => format!("InstanceId.{i}=i-bp1{i:015}&"),
    }));
    Hostile {
        name: "plain-form",
        aim: "baseline: ordinary RPC parameters",
        headers: form(),
        body,
    }
}

/// A plain form body that is one large value (such as `UserData`).
pub fn plain_large_value(size: usize) -> Hostile {
    let mut body = b"Action=RunInstances&UserData=".to_vec();
    body.extend(fill(size - body.len(), |i| {
        format!("{}", (b'A' + (i % 26) as u8) as char)
    }));
    Hostile {
        name: "plain-large-value",
        aim: "baseline: one large value",
        headers: form(),
        body,
    }
}

/// The hostile bodies, each `size` bytes.
pub fn bodies(size: usize) -> Vec<Hostile> {
    vec![
        Hostile {
            name: "distinct-actions",
            aim: "every distinct action kept and compared with the earlier ones",
            headers: form(),
            body: fill(size, |i| format!("Action={}&", word(i))),
        },
        Hostile {
            name: "distinct-key-tokens",
            aim: "a key value of many distinct key-like tokens, each a lookup",
            headers: form(),
            body: fill(size, |i| {
                let tokens: Vec<String> = (0..200).map(|t| word(i * 200 + t)).collect();
                format!("AccessKeyId=t-{}&", tokens.join("-"))
            }),
        },
        Hostile {
            name: "long-key-values",
            aim: "values that fill the scanner under both separator readings",
            headers: form(),
            body: fill(size, |i| {
                format!(
                    "AccessKeyId=+{}{}-{}+;AccessKeyId=x&",
                    word(i),
                    "A".repeat(2000),
                    "B".repeat(2000)
                )
            }),
        },
        Hostile {
            name: "cut-values",
            aim: "key and action values longer than the scanner keeps",
            headers: form(),
            body: fill(size, |i| {
                if i % 2 == 0 {
                    format!("AccessKeyId={}&", "K".repeat(5000))
                } else {
                    format!("Action={}&", "R".repeat(5000))
                }
            }),
        },
        Hostile {
            name: "digest-tokens",
            aim: "distinct key-length tokens: each would need a SHA-256 digest",
            headers: form(),
            body: fill(size, |i| format!("AccessKeyId=LTAI5tJunk{i:014}&")),
        },
        Hostile {
            name: "triple-encoded",
            aim: "values decoded three times, each reading looked at",
            headers: form(),
            body: fill(size, |i| {
                let encoded: String = word(i).bytes().map(|b| format!("%2525{b:02X}")).collect();
                format!("Action={encoded}&AccessKeyId={encoded}&")
            }),
        },
        Hostile {
            name: "encoded-actions",
            aim: "actions encoded three times: every value decoded again and again",
            headers: form(),
            body: fill(size, |i| {
                let encoded: String = word(i).bytes().map(|b| format!("%2525{b:02X}")).collect();
                format!("Action={encoded}&")
            }),
        },
        Hostile {
            name: "semicolons",
            aim: "pairs split on `;` as well as `&`: two readings of every parameter",
            headers: form(),
            body: fill(size, |i| {
                format!("Action={};AccessKeyId=LTAI5t{};", word(i), word(i + 7))
            }),
        },
        Hostile {
            name: "long-names",
            aim: "parameter names longer than the scanner keeps",
            headers: form(),
            body: fill(size, |i| format!("{}{}=v&", "N".repeat(300), word(i))),
        },
        Hostile {
            name: "distinct-versions",
            aim: "every distinct version kept",
            headers: form(),
            body: fill(size, |i| format!("Version={}&", word(i))),
        },
        Hostile {
            name: "equals-and-separators",
            aim: "a byte of structure every byte",
            headers: form(),
            body: fill(size, |i| if i % 2 == 0 { "=".into() } else { "&".into() }),
        },
    ]
}

/// Hostile headers of about `size` bytes each, with a one-byte form body.
pub fn headers(size: usize) -> Vec<Hostile> {
    let joined = |prefix: &str, sep: &str, item: &dyn Fn(usize) -> String| {
        String::from_utf8(fill(size, |i| format!("{prefix}{}{sep}", item(i)))).unwrap_or_default()
    };
    vec![
        Hostile {
            name: "x-acs-action-list",
            aim: "a header of many comma-separated actions",
            headers: vec![("x-acs-action".into(), joined("", ",", &|i| word(i)))],
            body: b"x".to_vec(),
        },
        Hostile {
            name: "host-list",
            aim: "a Host of many comma-separated hosts",
            headers: vec![(
                "host".into(),
                joined("", ",", &|i| format!("{}.aliyuncs.com", word(i))),
            )],
            body: b"x".to_vec(),
        },
        Hostile {
            name: "credential-list",
            aim: "an Authorization value of many Credential= parameters",
            headers: vec![(
                "authorization".into(),
                joined("Credential=", "", &|i| format!("({})", word(i))),
            )],
            body: b"x".to_vec(),
        },
        Hostile {
            name: "access-key-header-tokens",
            aim: "an x-acs-accesskey-id of many key-length tokens",
            headers: vec![(
                "x-acs-accesskey-id".into(),
                joined("", " ", &|i| format!("LTAI5tJunk{i:014}")),
            )],
            body: b"x".to_vec(),
        },
    ]
}

/// A plain request with a header of the same size as [`headers`]' (a value nobody reads).
pub fn plain_header(size: usize) -> Hostile {
    Hostile {
        name: "plain-header",
        aim: "baseline: a header of the same size that akguard does not read",
        headers: vec![(
            "x-trace-context".into(),
            String::from_utf8(fill(size, |i| format!("{:x}", i % 16))).unwrap_or_default(),
        )],
        body: b"x".to_vec(),
    }
}

impl Hostile {
    /// The request's headers as the filter sees them, with the key in the query (or none).
    pub fn header_pairs(&self, key: Option<&str>, action: &str) -> Vec<(String, Vec<u8>)> {
        let path = match key {
            Some(key) => format!("/?Action={action}&AccessKeyId={key}"),
            None => format!("/?Action={action}"),
        };
        let mut out = vec![
            (":method".to_string(), b"POST".to_vec()),
            (":path".to_string(), path.into_bytes()),
            (
                ":authority".to_string(),
                b"ecs.cn-hangzhou.aliyuncs.com".to_vec(),
            ),
        ];
        if !self.headers.iter().any(|(n, _)| n == "content-type") {
            out.extend(form().into_iter().map(|(n, v)| (n, v.into_bytes())));
        }
        out.extend(
            self.headers
                .iter()
                .map(|(n, v)| (n.clone(), v.clone().into_bytes())),
        );
        out
    }
}

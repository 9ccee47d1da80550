//! Credentials issued through the gateway: which calls issue them, and the AccessKey ID and
//! expiry read from such a call's response.
//!
//! STS `AssumeRole`, `AssumeRoleWithSAML` and `AssumeRoleWithOIDC` answer with a
//! `Credentials` object (JSON) or element (XML, `Format=XML`) holding a temporary
//! `AccessKeyId` (`STS.…`) and its `Expiration` (`2026-12-02T12:00:00Z`). A response is read
//! from its first [`MAX_CREDENTIAL_RESPONSE`] bytes only; a longer one, or one whose
//! credentials cannot be read with certainty, is [`Issued::Unreadable`], and the filter
//! replaces it with a deny rather than let credentials it could not record out.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::io::{BufReader, Read};

/// Products and the operations of theirs that issue credentials (compared without case, as
/// the list's operations are).
pub const CREDENTIAL_CALLS: &[(&str, &[&str])] = &[(
    "sts",
    &["AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithOIDC"],
)];

/// Most response bytes read for the credentials it carries (an `AssumeRole` answer, with its
/// security token, is 2 KiB or less).
pub const MAX_CREDENTIAL_RESPONSE: usize = 16 * 1024;

/// The prefix of every AccessKey ID the credential calls issue: only such IDs are recorded,
/// and only request readings with it are looked up among the recorded ones.
pub const ISSUED_PREFIX: &[u8] = b"STS.";

/// Longest issued AccessKey ID accepted.
const MAX_ISSUED_ID: usize = 128;

/// The action is one of the operations [`CREDENTIAL_CALLS`] names, for any product.
pub fn is_credential_action(action: &[u8]) -> bool {
    CREDENTIAL_CALLS
        .iter()
        .flat_map(|(_, actions)| actions.iter())
        .any(|a| a.as_bytes().eq_ignore_ascii_case(action))
}

/// The product issues credentials through some of its operations.
pub fn is_issuing_product(id: &str) -> bool {
    CREDENTIAL_CALLS.iter().any(|(product, _)| *product == id)
}

/// What a credential call's response issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Issued {
    /// No credentials in the response (an error, or another operation's answer).
    Nothing,
    /// A new AccessKey ID, in force until `expires` (seconds since the Unix epoch).
    Key { id: String, expires: u64 },
    /// Credentials may be in the response but cannot be read with certainty.
    Unreadable,
}

/// Reads the credentials a response carries. `body` holds its first bytes; `complete`
/// says it is the whole response (false: longer than [`MAX_CREDENTIAL_RESPONSE`]).
pub fn read_issued(body: &[u8], complete: bool) -> Issued {
    if !complete || body.len() > MAX_CREDENTIAL_RESPONSE {
        return Issued::Unreadable;
    }
    let text = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Issued::Nothing,
        Some(b'{') => read_json(text),
        Some(b'<') => read_xml(text),
        // Neither a JSON object nor XML: no client reads credentials from it.
        Some(_) => Issued::Nothing,
    }
}

/// Reads a JSON answer as the configuration is read (the same reader, so the module holds
/// one copy of the code). A name the credentials are read from that occurs more than once
/// could be read differently by a client: unreadable.
fn read_json(text: &[u8]) -> Issued {
    let names: [&[u8]; 3] = [b"\"Credentials\"", b"\"AccessKeyId\"", b"\"Expiration\""];
    if names
        .iter()
        .any(|name| memchr::memmem::find_iter(text, name).nth(1).is_some())
    {
        return Issued::Unreadable;
    }
    let mut bytes = text;
    let reader: &mut dyn Read = &mut bytes;
    let mut de =
        serde_json::Deserializer::from_reader(BufReader::with_capacity(text.len(), reader));
    let value = match Value::deserialize(&mut de).and_then(|v| de.end().map(|()| v)) {
        Ok(value) => value,
        Err(_) => return Issued::Unreadable,
    };
    let text_of = |c: &Map<String, Value>, name: &str| {
        c.get(name)
            .and_then(Value::as_str)
            .map(|s| s.as_bytes().to_vec())
    };
    match value.get("Credentials") {
        None | Some(Value::Null) => Issued::Nothing,
        Some(Value::Object(c)) => issued(
            text_of(c, "AccessKeyId").as_deref(),
            text_of(c, "Expiration").as_deref(),
        ),
        Some(_) => Issued::Unreadable,
    }
}

/// The one element named `name` in `text`: `Ok(None)` when there is none, `Err` when there
/// are several or it is not closed.
fn xml_element<'t>(text: &'t [u8], name: &str) -> Result<Option<&'t [u8]>, ()> {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut found = None;
    let mut from = 0;
    while let Some(at) = memchr::memmem::find(&text[from..], open.as_bytes()) {
        let start = from + at + open.len();
        from = start;
        match text.get(start) {
            Some(b'>') => {}
            Some(b) if b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-' => continue,
            // Attributes, a self-closed or a cut element: not the plain shape STS sends.
            _ => return Err(()),
        }
        if found.is_some() {
            return Err(());
        }
        let content = &text[start + 1..];
        let end = memchr::memmem::find(content, close.as_bytes()).ok_or(())?;
        found = Some(&content[..end]);
    }
    Ok(found)
}

fn read_xml(text: &[u8]) -> Issued {
    let credentials = match xml_element(text, "Credentials") {
        Ok(None) => return Issued::Nothing,
        Ok(Some(c)) => c,
        Err(()) => return Issued::Unreadable,
    };
    match (
        xml_element(credentials, "AccessKeyId"),
        xml_element(credentials, "Expiration"),
    ) {
        (Ok(id), Ok(expiration)) => issued(id, expiration),
        _ => Issued::Unreadable,
    }
}

fn issued(id: Option<&[u8]>, expiration: Option<&[u8]>) -> Issued {
    let (Some(id), Some(expiration)) = (id, expiration) else {
        return Issued::Unreadable;
    };
    let plain = id.len() <= MAX_ISSUED_ID
        && id.len() > ISSUED_PREFIX.len()
        && id.starts_with(ISSUED_PREFIX)
        && id.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'.');
    match (plain, parse_expiration(expiration)) {
        (true, Some(expires)) => Issued::Key {
            id: String::from_utf8_lossy(id).into_owned(),
            expires,
        },
        _ => Issued::Unreadable,
    }
}

/// Seconds since the Unix epoch of a UTC time written `YYYY-MM-DDTHH:MM:SSZ` (fractional
/// seconds allowed, and dropped).
pub fn parse_expiration(text: &[u8]) -> Option<u64> {
    let digits = |range: std::ops::Range<usize>| -> Option<u64> {
        let part = text.get(range)?;
        part.iter().try_fold(0u64, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators.iter().any(|(at, c)| text.get(*at) != Some(c)) {
        return None;
    }
    let rest = text.get(19..)?;
    let zone = match rest.first() {
        Some(b'.') => {
            let fraction = rest
                .iter()
                .skip(1)
                .take_while(|b| b.is_ascii_digit())
                .count();
            (fraction > 0).then(|| rest.get(1 + fraction..))??
        }
        _ => rest,
    };
    if zone != b"Z" {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 || year < 1970 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), for years from 1970.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"RequestId":"6894B13B-6D71-4EF5-88FA-F32781734A7F","AssumedRoleUser":{"Arn":"acs:ram::123456789012****:role/adminrole/alice","AssumedRoleId":"34458433936495****:alice"},"Credentials":{"SecurityToken":"********","AccessKeyId":"STS.NTestMinted0001","AccessKeySecret":"3dZn*******","Expiration":"2026-12-02T12:00:00Z"}}"#;
    const XML: &str = "<?xml version='1.0' encoding='UTF-8'?><AssumeRoleResponse><RequestId>6894B13B</RequestId><AssumedRoleUser><Arn>acs:ram::1:role/r</Arn></AssumedRoleUser><Credentials><AccessKeySecret>x</AccessKeySecret><Expiration>2026-12-02T12:00:00Z</Expiration><AccessKeyId>STS.NTestMinted0001</AccessKeyId><SecurityToken>t</SecurityToken></Credentials></AssumeRoleResponse>";

    fn key(id: &str, expires: u64) -> Issued {
        Issued::Key {
            id: id.into(),
            expires,
        }
    }

    #[test]
    fn expirations_are_read_as_utc_seconds() {
        assert_eq!(parse_expiration(b"1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_expiration(b"2026-12-02T12:00:00Z"),
            Some(1_796_212_800)
        );
        assert_eq!(parse_expiration(b"2000-02-29T23:59:59Z"), Some(951_868_799));
        assert_eq!(
            parse_expiration(b"2026-12-02T12:00:00.123Z"),
            Some(1_796_212_800)
        );
        for bad in [
            "",
            "2026-12-02T12:00:00",
            "2026-12-02 12:00:00Z",
            "2026-13-02T12:00:00Z",
            "2026-12-02T24:00:00Z",
            "2026-12-02T12:00:00+08:00",
            "2026-12-02T12:00:00.Z",
            "1969-12-31T23:59:59Z",
            "2026-1a-02T12:00:00Z",
            "+026-12-02T12:00:00Z",
        ] {
            assert_eq!(parse_expiration(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn credential_calls_are_named_without_case() {
        assert!(is_credential_action(b"AssumeRole"));
        assert!(is_credential_action(b"assumerolewithoidc"));
        assert!(!is_credential_action(b"GetCallerIdentity"));
        assert!(!is_credential_action(b"AssumeRoleX"));
        assert!(is_issuing_product("sts"));
        assert!(!is_issuing_product("ecs"));
    }

    #[test]
    fn json_and_xml_answers_give_the_issued_key() {
        let minted = key("STS.NTestMinted0001", 1_796_212_800);
        assert_eq!(read_issued(JSON.as_bytes(), true), minted);
        assert_eq!(read_issued(XML.as_bytes(), true), minted);
        let spaced = format!("\u{feff} \n{JSON}\n");
        assert_eq!(read_issued(spaced.as_bytes(), true), minted);
        let escaped = JSON.replace("\"Credentials\"", "\"\\u0043redentials\"");
        assert_eq!(read_issued(escaped.as_bytes(), true), minted);
    }

    #[test]
    fn answers_without_credentials_issue_nothing() {
        for body in [
            "",
            "  ",
            r#"{"RequestId":"1","Code":"NoPermission","Message":"You are not authorized"}"#,
            r#"{"RequestId":"1","Credentials":null}"#,
            "<Error><Code>NoPermission</Code></Error>",
            "<GetCallerIdentityResponse><AccountId>1</AccountId></GetCallerIdentityResponse>",
            "reached the upstream",
            "[{\"Credentials\": {}}]",
        ] {
            assert_eq!(
                read_issued(body.as_bytes(), true),
                Issued::Nothing,
                "{body}"
            );
        }
    }

    #[test]
    fn credentials_not_read_with_certainty_are_unreadable() {
        let cases = [
            JSON.replace("STS.NTestMinted0001", "LTAI5tNotTemporary01"),
            JSON.replace("STS.NTestMinted0001", "STS.with space"),
            JSON.replace("STS.NTestMinted0001", "STS."),
            JSON.replace("STS.NTestMinted0001", &format!("STS.{}", "a".repeat(200))),
            JSON.replace("2026-12-02T12:00:00Z", "tomorrow"),
            JSON.replace("\"AccessKeyId\"", "\"AccessKeyID\""),
            JSON.replace("\"Expiration\"", "\"Expires\""),
            JSON.replace("}}", "},\"Credentials\":{}}"),
            JSON.replace("\"AccessKeyId\"", "\"Expiration\":\"x\",\"AccessKeyId\""),
            JSON[..JSON.len() - 1].to_string(),
            r#"{"Credentials":"STS.NTestMinted0001"}"#.to_string(),
            XML.replace("<AccessKeyId>", "<AccessKeyId a=\"1\">"),
            XML.replace(
                "</Credentials>",
                "</Credentials><Credentials></Credentials>",
            ),
            XML.replace("</AccessKeyId>", ""),
            XML.replace("STS.NTestMinted0001", "STS.&amp;1"),
            XML.replace("STS.NTestMinted0001", "<![CDATA[STS.NTestMinted0001]]>"),
            XML.replace("<Expiration>2026-12-02T12:00:00Z</Expiration>", ""),
            XML.replace("<Credentials>", "<Credentials/>"),
        ];
        for body in &cases {
            assert_eq!(
                read_issued(body.as_bytes(), true),
                Issued::Unreadable,
                "{body}"
            );
        }
        assert_eq!(read_issued(JSON.as_bytes(), false), Issued::Unreadable);
        let padded = format!("{JSON:<width$}", width = MAX_CREDENTIAL_RESPONSE + 1);
        assert_eq!(read_issued(padded.as_bytes(), true), Issued::Unreadable);
        let fits = format!("{JSON:<width$}", width = MAX_CREDENTIAL_RESPONSE);
        assert!(matches!(
            read_issued(fits.as_bytes(), true),
            Issued::Key { .. }
        ));
    }

    #[test]
    fn similar_element_names_are_not_taken_for_credentials() {
        let body = "<R><CredentialsList><AccessKeyId>STS.a1</AccessKeyId></CredentialsList></R>";
        assert_eq!(read_issued(body.as_bytes(), true), Issued::Nothing);
    }
}

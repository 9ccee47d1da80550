//! The local reply for a denied call, in Alibaba Cloud's own error shape (JSON, or XML when
//! the request asks `Format=XML`; OSS's XML `Error` document for OSS), so client SDKs surface
//! `Forbidden : There is a risk of leakage of this AccessKey.`

use super::packed::base64;
use serde::Serialize;

/// Error code of the leaked-key deny.
pub const CODE: &str = "Forbidden";
/// Error message of the leaked-key deny, as Alibaba Cloud words it.
pub const MESSAGE: &str = "There is a risk of leakage of this AccessKey.";
/// Error code when a form body is larger than akguard reads.
pub const TOO_LARGE_CODE: &str = "RequestBodyTooLarge";
/// Error message when a form body is larger than akguard reads.
pub const TOO_LARGE_MESSAGE: &str =
    "The form-encoded request body is larger than the gateway inspects for leaked AccessKeys.";

/// Which error the reply carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    /// 403, `Forbidden`: a leaked key calling a blocked operation.
    Leaked,
    /// 413, `RequestBodyTooLarge`: a form body past `max_body_bytes` with no leaked key seen.
    BodyTooLarge,
}

/// Body format: asked for by the request, or the product's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
    /// OSS's error document: XML, `application/xml`, the id in `x-oss-request-id`.
    Oss,
}

/// A rendered local reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub status: u32,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody<'a> {
    request_id: &'a str,
    host_id: &'a str,
    code: &'a str,
    message: &'a str,
    recommend: String,
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

fn query_escape(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

/// Renders the reply. `host_id` is the request's host, `product` the product id (or empty).
pub fn render(
    kind: ReplyKind,
    format: Format,
    request_id: &str,
    host_id: &str,
    product: &str,
) -> Reply {
    let (status, code, message) = match kind {
        ReplyKind::Leaked => (403, CODE, MESSAGE),
        ReplyKind::BodyTooLarge => (413, TOO_LARGE_CODE, TOO_LARGE_MESSAGE),
    };
    let error = ErrorBody {
        request_id,
        host_id,
        code,
        message,
        recommend: format!(
            "https://api.aliyun.com/troubleshoot?q={}&product={}&requestId={}",
            query_escape(code),
            query_escape(product),
            query_escape(request_id)
        ),
    };
    let mut id_header = "x-acs-request-id";
    let (content_type, body) = match format {
        Format::Json => (
            "application/json;charset=utf-8",
            serde_json::to_string(&error).unwrap_or_default(),
        ),
        Format::Xml => (
            "text/xml;charset=utf-8",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><RequestId>{}</RequestId><HostId>{}</HostId><Code>{}</Code><Message>{}</Message><Recommend>{}</Recommend></Error>",
                xml_escape(error.request_id),
                xml_escape(error.host_id),
                xml_escape(error.code),
                xml_escape(error.message),
                xml_escape(&error.recommend)
            ),
        ),
        Format::Oss => {
            id_header = "x-oss-request-id";
            // OSS's own layout, as its SDKs parse it.
            (
                "application/xml",
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{}</Code>\n  <Message>{}</Message>\n  <RequestId>{}</RequestId>\n  <HostId>{}</HostId>\n  <RecommendDoc>{}</RecommendDoc>\n</Error>\n",
                    xml_escape(error.code),
                    xml_escape(error.message),
                    xml_escape(error.request_id),
                    xml_escape(error.host_id),
                    xml_escape(&error.recommend)
                ),
            )
        }
    };
    let mut headers = vec![
        ("content-type", content_type.to_string()),
        (id_header, request_id.to_string()),
    ];
    if format == Format::Oss {
        // OSS repeats its error document, base64-encoded, in `x-oss-err`: the only place
        // a client finds it in the reply to a HEAD request, which carries no body.
        headers.push(("x-oss-err", base64(body.as_bytes())));
    }
    Reply {
        status,
        headers,
        body,
    }
}

/// A request id usable in a header and in the body: 1–128 bytes of letters, digits, `-`,
/// `_`, `.`. Anything else is not taken from the request.
pub fn usable_request_id(value: &[u8]) -> Option<String> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b));
    ok.then(|| String::from_utf8_lossy(value).into_owned())
}

/// A request id for a request that brought none, in the UUID shape Alibaba Cloud uses, made
/// from a per-VM seed (such as the current time) and a per-request number.
pub fn generated_request_id(seed: u64, sequence: u64) -> String {
    let mix = |mut h: u64| {
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    };
    let high = mix(seed ^ 0x6a09_e667_f3bc_c908);
    let low = mix(sequence.wrapping_add(high));
    format!(
        "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_reply_has_alibaba_shape() {
        let reply = render(
            ReplyKind::Leaked,
            Format::Json,
            "req-1",
            "ecs.aliyuncs.com",
            "ecs",
        );
        assert_eq!(reply.status, 403);
        assert_eq!(
            reply.headers[0],
            ("content-type", "application/json;charset=utf-8".to_string())
        );
        assert_eq!(reply.headers[1], ("x-acs-request-id", "req-1".to_string()));
        let v: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(v["RequestId"], "req-1");
        assert_eq!(v["HostId"], "ecs.aliyuncs.com");
        assert_eq!(v["Code"], "Forbidden");
        assert_eq!(
            v["Message"],
            "There is a risk of leakage of this AccessKey."
        );
        assert_eq!(
            v["Recommend"],
            "https://api.aliyun.com/troubleshoot?q=Forbidden&product=ecs&requestId=req-1"
        );
        let sdk_text = format!(
            "{} : {}",
            v["Code"].as_str().unwrap(),
            v["Message"].as_str().unwrap()
        );
        assert_eq!(
            sdk_text,
            "Forbidden : There is a risk of leakage of this AccessKey."
        );
    }

    #[test]
    fn xml_reply_has_alibaba_shape_and_escapes() {
        let reply = render(ReplyKind::Leaked, Format::Xml, "r<1>", "a&b", "ecs");
        assert_eq!(reply.headers[0].1, "text/xml;charset=utf-8");
        assert!(reply.body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><RequestId>r&lt;1&gt;</RequestId><HostId>a&amp;b</HostId><Code>Forbidden</Code><Message>There is a risk of leakage of this AccessKey.</Message><Recommend>"));
        assert!(reply.body.ends_with("</Recommend></Error>"));
    }

    #[test]
    fn oss_reply_is_an_oss_error_document() {
        let reply = render(
            ReplyKind::Leaked,
            Format::Oss,
            "r1",
            "b.oss-cn-hangzhou.aliyuncs.com",
            "oss",
        );
        assert_eq!(reply.status, 403);
        assert_eq!(
            reply.headers[0],
            ("content-type", "application/xml".to_string())
        );
        assert_eq!(reply.headers[1], ("x-oss-request-id", "r1".to_string()));
        let element = |name: &str| {
            let open = format!("<{name}>");
            let start = reply.body.find(&open).unwrap() + open.len();
            let end = reply.body[start..].find(&format!("</{name}>")).unwrap();
            reply.body[start..start + end].to_string()
        };
        assert!(reply
            .body
            .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"));
        assert_eq!(element("Code"), "Forbidden");
        assert_eq!(element("Message"), MESSAGE);
        assert_eq!(element("RequestId"), "r1");
        assert_eq!(element("HostId"), "b.oss-cn-hangzhou.aliyuncs.com");
        assert_eq!(
            reply.headers[2],
            ("x-oss-err", base64(reply.body.as_bytes()))
        );
        let too_large = render(ReplyKind::BodyTooLarge, Format::Oss, "r<", "h", "oss");
        assert_eq!(too_large.status, 413);
        assert!(too_large.body.contains("<Code>RequestBodyTooLarge</Code>"));
        assert!(too_large.body.contains("<RequestId>r&lt;</RequestId>"));
    }

    #[test]
    fn recommend_link_values_are_percent_encoded() {
        assert_eq!(query_escape("a b/é~-_.Z9"), "a%20b%2F%C3%A9~-_.Z9");
        assert_eq!(query_escape(""), "");
    }

    #[test]
    fn too_large_reply() {
        let reply = render(ReplyKind::BodyTooLarge, Format::Json, "id", "h", "");
        assert_eq!(reply.status, 413);
        assert!(reply.body.contains("\"Code\":\"RequestBodyTooLarge\""));
    }

    #[test]
    fn generated_request_ids_are_uuid_shaped_and_distinct() {
        let a = generated_request_id(1, 1);
        let b = generated_request_id(1, 2);
        let c = generated_request_id(2, 1);
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
        assert!(usable_request_id(a.as_bytes()).is_some());
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn request_ids_from_requests_are_checked() {
        assert_eq!(
            usable_request_id(b"3f1c-AB_9.x").as_deref(),
            Some("3f1c-AB_9.x")
        );
        assert_eq!(usable_request_id(b""), None);
        assert_eq!(usable_request_id(b"a b"), None);
        assert_eq!(usable_request_id(b"a\r\nx-evil: 1"), None);
        assert_eq!(usable_request_id(&[b'a'; 129]), None);
    }
}

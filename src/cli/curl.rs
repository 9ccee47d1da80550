//! Reads a curl command line into the request curl would send: `-X`, `-H`, `-d` and its
//! variants (`--data`, `--data-ascii`, `--data-raw`, `--data-binary`, `--data-urlencode`,
//! `--json`), `-G`, `-I`, `-A`, `-e`, `-b`, `--url`, `--request-target`. Options that do not
//! change what the filter sees (`-s`, `-v`, `-o FILE`, …) are noted and skipped; anything
//! else is refused rather than guessed.

use super::http_request::{split_url, HttpRequest};

/// Options without a value that do not change the request the filter sees.
const QUIET_FLAGS: &[&str] = &[
    "--silent",
    "--show-error",
    "--verbose",
    "--include",
    "--insecure",
    "--location",
    "--location-trusted",
    "--fail",
    "--fail-with-body",
    "--fail-early",
    "--compressed",
    "--http1.1",
    "--http2",
    "--http2-prior-knowledge",
    "--globoff",
    "--no-buffer",
    "--no-keepalive",
    "--ipv4",
    "--ipv6",
    "--path-as-is",
    "--tcp-nodelay",
    "--no-progress-meter",
    "--progress-bar",
    "--remote-name",
    "--retry-all-errors",
    "--retry-connrefused",
    "--disable",
];
const QUIET_SHORT: &str = "sSviLkfgN#0146qO";

/// Options with a value that do not change the request the filter sees.
const QUIET_WITH_VALUE: &[&str] = &[
    "--output",
    "--write-out",
    "--max-time",
    "--connect-timeout",
    "--retry",
    "--retry-delay",
    "--retry-max-time",
    "--user",
    "--proxy",
    "--resolve",
    "--connect-to",
    "--cacert",
    "--capath",
    "--cert",
    "--key",
    "--cert-type",
    "--key-type",
    "--cookie-jar",
    "--limit-rate",
    "--interface",
    "--max-redirs",
    "--trace",
    "--trace-ascii",
    "--stderr",
    "--noproxy",
    "--proxy-user",
    "--unix-socket",
];
const QUIET_SHORT_WITH_VALUE: &str = "owmuxcEr";

#[derive(Default)]
struct Command {
    method: Option<String>,
    url: Option<String>,
    request_target: Option<String>,
    headers: Vec<(String, Option<String>)>,
    data: Vec<Vec<u8>>,
    json: bool,
    get: bool,
    head: bool,
    notes: Vec<String>,
}

fn read_file(path: &str, keep_newlines: bool) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("curl data file {path}: {e}"))?;
    Ok(if keep_newlines {
        bytes
    } else {
        bytes
            .into_iter()
            .filter(|b| *b != b'\n' && *b != b'\r')
            .collect()
    })
}

/// Percent-encodes like curl's `--data-urlencode`: all but letters, digits and `-._~`.
fn urlencode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

fn data_urlencode(value: &str) -> Result<Vec<u8>, String> {
    if let Some(rest) = value.strip_prefix('=') {
        return Ok(urlencode(rest.as_bytes()));
    }
    let eq = value.find('=');
    let at = value.find('@');
    match (eq, at) {
        (Some(eq), _) if at.is_none_or(|at| eq < at) => {
            let mut out = value.as_bytes()[..eq].to_vec();
            out.push(b'=');
            out.extend(urlencode(&value.as_bytes()[eq + 1..]));
            Ok(out)
        }
        (_, Some(at)) => {
            let mut out = Vec::new();
            if at > 0 {
                out.extend_from_slice(&value.as_bytes()[..at]);
                out.push(b'=');
            }
            out.extend(urlencode(&read_file(&value[at + 1..], true)?));
            Ok(out)
        }
        _ => Ok(urlencode(value.as_bytes())),
    }
}

impl Command {
    /// Applies one option and its value. Returns false for an unknown option.
    fn apply(&mut self, option: &str, value: &str) -> Result<(), String> {
        match option {
            "-X" | "--request" => self.method = Some(value.to_string()),
            "-H" | "--header" => self.header(value),
            "-d" | "--data" | "--data-ascii" => self.data.push(match value.strip_prefix('@') {
                Some(path) => read_file(path, false)?,
                None => value.as_bytes().to_vec(),
            }),
            "--data-binary" => self.data.push(match value.strip_prefix('@') {
                Some(path) => read_file(path, true)?,
                None => value.as_bytes().to_vec(),
            }),
            "--data-raw" => self.data.push(value.as_bytes().to_vec()),
            "--data-urlencode" => self.data.push(data_urlencode(value)?),
            "--json" => {
                self.json = true;
                self.data.push(match value.strip_prefix('@') {
                    Some(path) => read_file(path, true)?,
                    None => value.as_bytes().to_vec(),
                });
            }
            "-A" | "--user-agent" => self.headers.push(("User-Agent".into(), Some(value.into()))),
            "-e" | "--referer" => self.headers.push(("Referer".into(), Some(value.into()))),
            "-b" | "--cookie" => {
                if value.contains('=') {
                    self.headers.push(("Cookie".into(), Some(value.into())));
                } else {
                    self.notes.push(format!("cookie file {value} not read"));
                }
            }
            "--url" => self.set_url(value)?,
            "--request-target" => self.request_target = Some(value.to_string()),
            _ => {
                return Err(format!(
                    "unsupported curl option {option} (read: -X, -H, -d, --data-raw, --data-binary, --data-urlencode, --json, -G, -I, -A, -e, -b, --url, --request-target)"
                ))
            }
        }
        Ok(())
    }

    fn header(&mut self, line: &str) {
        // `Name:` removes a header curl would add; `Name;` sends it empty.
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            let value = (!value.is_empty()).then(|| value.to_string());
            self.headers.push((name.trim().to_string(), value));
        } else if let Some(name) = line.strip_suffix(';') {
            self.headers
                .push((name.trim().to_string(), Some(String::new())));
        }
    }

    fn set_url(&mut self, url: &str) -> Result<(), String> {
        if self.url.is_some() {
            return Err("the curl command names more than one URL".into());
        }
        self.url = Some(url.to_string());
        Ok(())
    }

    fn has_header(&self, wanted: &str) -> bool {
        self.headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(wanted))
    }

    fn into_request(self) -> Result<HttpRequest, String> {
        let url = self.url.as_deref().ok_or("the curl command names no URL")?;
        let url = split_url(url)?;
        let data = (!self.data.is_empty()).then(|| self.data.join(&b'&'));
        let mut path = self.request_target.clone().unwrap_or(url.path).into_bytes();
        let mut body = Vec::new();
        let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
        let default_method = match (&data, self.get, self.head) {
            (_, _, true) => "HEAD",
            (Some(data), true, _) => {
                path.push(if path.contains(&b'?') { b'&' } else { b'?' });
                path.extend_from_slice(data);
                "GET"
            }
            (Some(data), false, _) => {
                let content_type = if self.json {
                    "application/json"
                } else {
                    "application/x-www-form-urlencoded"
                };
                if !self.has_header("content-type") {
                    headers.push(("Content-Type".into(), content_type.as_bytes().to_vec()));
                }
                headers.push(("Content-Length".into(), data.len().to_string().into_bytes()));
                body.push(data.clone());
                "POST"
            }
            (None, _, _) => "GET",
        };
        let mut authority = url.authority;
        for (name, value) in self.headers {
            match value {
                Some(value) if name.eq_ignore_ascii_case("host") => authority = value,
                Some(value) => headers.push((name, value.into_bytes())),
                None => headers.retain(|(have, _)| !have.eq_ignore_ascii_case(&name)),
            }
        }
        Ok(HttpRequest {
            method: self.method.unwrap_or_else(|| default_method.to_string()),
            scheme: url.scheme,
            authority,
            path,
            headers,
            body,
            notes: self.notes,
        })
    }
}

/// The request a curl command (its words, with or without the leading `curl`) sends.
pub fn parse(words: &[String]) -> Result<HttpRequest, String> {
    let words = match words.first() {
        Some(first) if first == "curl" => &words[1..],
        _ => words,
    };
    let mut command = Command::default();
    let mut rest = words.iter();
    while let Some(word) = rest.next() {
        let mut value_for = |option: &str| {
            rest.next()
                .cloned()
                .ok_or_else(|| format!("curl option {option} needs a value"))
        };
        if word == "-G" || word == "--get" {
            command.get = true;
        } else if word == "-I" || word == "--head" {
            command.head = true;
        } else if QUIET_FLAGS.contains(&word.as_str()) {
            command.notes.push(format!("option {word} ignored"));
        } else if QUIET_WITH_VALUE.contains(&word.as_str()) {
            value_for(word)?;
            command.notes.push(format!("option {word} ignored"));
        } else if word.starts_with("--") {
            let value = value_for(word)?;
            command.apply(word, &value)?;
        } else if let Some(cluster) = word.strip_prefix('-').filter(|c| !c.is_empty()) {
            for (at, flag) in cluster.char_indices() {
                if flag == 'G' {
                    command.get = true;
                } else if flag == 'I' {
                    command.head = true;
                } else if QUIET_SHORT.contains(flag) {
                    command.notes.push(format!("option -{flag} ignored"));
                } else {
                    let option = format!("-{flag}");
                    let attached = &cluster[at + flag.len_utf8()..];
                    let value = if attached.is_empty() {
                        value_for(&option)?
                    } else {
                        attached.to_string()
                    };
                    if QUIET_SHORT_WITH_VALUE.contains(flag) {
                        command.notes.push(format!("option {option} ignored"));
                    } else {
                        command.apply(&option, &value)?;
                    }
                    break;
                }
            }
        } else {
            command.set_url(word)?;
        }
    }
    command.into_request()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a [u8]> {
        request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    #[test]
    fn get_with_headers() {
        let r = parse(&words(&[
            "curl",
            "-sS",
            "http://127.0.0.1:10000/?Action=RunInstances",
            "-H",
            "Host: ecs.aliyuncs.com",
            "-H",
            "x-acs-action:DescribeRegions",
        ]))
        .unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.authority, "ecs.aliyuncs.com");
        assert_eq!(r.path, b"/?Action=RunInstances");
        assert_eq!(header(&r, "x-acs-action"), Some(&b"DescribeRegions"[..]));
        assert!(r.body.is_empty());
        assert_eq!(r.notes.len(), 2);
    }

    #[test]
    fn form_data_makes_a_post() {
        let r = parse(&words(&[
            "-XPUT",
            "ecs.aliyuncs.com",
            "-d",
            "Action=RunInstances",
            "--data-raw",
            "@AccessKeyId=x",
            "--data-urlencode",
            "Note=a b&c",
        ]))
        .unwrap();
        assert_eq!(r.method, "PUT");
        assert_eq!(
            r.body,
            [b"Action=RunInstances&@AccessKeyId=x&Note=a%20b%26c".to_vec()]
        );
        assert_eq!(
            header(&r, "content-type"),
            Some(&b"application/x-www-form-urlencoded"[..])
        );
    }

    #[test]
    fn get_moves_data_to_the_query_and_headers_can_be_removed() {
        let r = parse(&words(&[
            "-G",
            "http://h/?a=1",
            "-d",
            "b=2",
            "-H",
            "Accept:",
        ]))
        .unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, b"/?a=1&b=2");
        assert!(r.body.is_empty());
        let r = parse(&words(&["http://h/", "-d", "x", "-H", "Content-Type:"])).unwrap();
        assert_eq!(header(&r, "content-type"), None);
        let r = parse(&words(&["http://h/", "--json", "{}"])).unwrap();
        assert_eq!(header(&r, "content-type"), Some(&b"application/json"[..]));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let cases: &[&[&str]] = &[
            &["-F", "a=b", "http://h/"],
            &["--upload-file", "x", "http://h/"],
            &["http://a/", "http://b/"],
            &["-X"],
            &["-s"],
        ];
        for case in cases {
            assert!(parse(&words(case)).is_err(), "{case:?}");
        }
    }
}

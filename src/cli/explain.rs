//! `akguard explain`: runs one request through the policy core exactly as the filter does
//! (the `_rules_` entry chosen, then the headers and the body chunks) and prints what was
//! read, the verdict and the rule that decided it. Keys are always masked.

use super::config_source::{self, read_input, Syntax};
use super::evidence::{Evidence, Found, Listing};
use super::http_request::HttpRequest;
use super::rule_choice;
use super::{curl, raw_http, shell_words};
use super::{CliResult, EXIT_DENY, EXIT_OK, EXIT_SHADOW_DENY};
use akguard::core::body_kind::{body_kind, BodyKind};
use akguard::core::check::{Denial, RequestCheck, Step};
use akguard::core::config::{self, Mode, Policy};
use akguard::core::decision::is_plain_action;
use akguard::core::endpoints::resolve;
use akguard::core::mask::{mask_key, printable};
use akguard::core::reply::{self, ReplyKind};
use akguard::core::request::Header;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Show how the filter decides one request (exit 0 allow, 3 deny, 4 shadow-deny)
#[derive(clap::Args)]
#[command(
    long_about = "Run one request through the policy core exactly as the filter does, and print what it read \
(keys masked, product, actions and versions with where each was found, reply format), the verdict and the rule \
that decided it.\n\nWhen the configuration has `_rules_`, the request is checked under the first rule matching \
its host, or the route name (--route) or upstream cluster (--service) Envoy would give it, as the filter \
chooses; else under the top level. The `config:` line says which applied.\n\nThe request is a curl command (its words after `--`, or one quoted string), a file holding a \
curl command or a raw HTTP/1.1 request, or a raw request given with --raw. Exit code: 0 allow, 3 deny, \
4 deny in shadow mode (the request passes), 1 for an invalid configuration or request.",
    group(clap::ArgGroup::new("source").required(true).args(["config", "envoy"])),
    after_help = "Examples:\n  akguard explain --config akguard.json -- curl 'http://ecs.aliyuncs.com/?Action=RunInstances&AccessKeyId=LTAI...'\n  akguard explain --config akguard.json \"curl -X POST http://ecs.aliyuncs.com/ -d Action=RunInstances\"\n  akguard explain --envoy envoy.yaml --raw request.http\n  akguard explain --envoy higress-wasmplugin.yaml --route default/aliyun-api-ci -- curl 'http://api.example/?Action=RunInstances'"
)]
pub struct Args {
    /// Configuration file: JSON, or YAML (.yaml/.yml)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Take the configuration from the akguard Wasm filter of an Envoy configuration
    #[arg(long, value_name = "ENVOY_FILE")]
    pub envoy: Option<PathBuf>,
    /// With --envoy: the Wasm filter (or plugin) name, when there are several
    #[arg(long, value_name = "NAME")]
    pub filter: Option<String>,
    /// How the configuration file is written
    #[arg(long, value_enum, default_value_t = Syntax::Auto)]
    pub syntax: Syntax,
    /// The name of the Envoy route the request takes (`_match_route_`; Higress: the ingress)
    #[arg(long, value_name = "NAME")]
    pub route: Option<String>,
    /// The upstream cluster the request goes to (`_match_service_`), e.g.
    /// `outbound|443||rds-proxy.data.svc.cluster.local`
    #[arg(long, value_name = "CLUSTER")]
    pub service: Option<String>,
    /// A raw HTTP/1.1 request file ("-" reads stdin)
    #[arg(long, value_name = "FILE", conflicts_with = "request")]
    pub raw: Option<PathBuf>,
    /// The request: curl command words (after `--`), one string holding a curl command, or a
    /// file holding a curl command or a raw HTTP/1.1 request ("-" reads stdin)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required_unless_present = "raw",
        value_name = "REQUEST"
    )]
    pub request: Vec<String>,
}

/// A curl command or a raw HTTP request held in a file.
fn request_from_text(bytes: &[u8]) -> Result<HttpRequest, String> {
    if raw_http::looks_like_http(bytes) {
        return raw_http::parse(bytes);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "the request file is not UTF-8 text")?;
    curl::parse(&shell_words::split(text)?)
}

fn read_request(args: &Args) -> Result<HttpRequest, String> {
    if let Some(path) = &args.raw {
        return raw_http::parse(&read_input(path)?);
    }
    match args.request.as_slice() {
        [one] if one == "-" || (!one.starts_with("curl") && Path::new(one).is_file()) => {
            request_from_text(&read_input(Path::new(one))?).map_err(|e| format!("{one}: {e}"))
        }
        [one] if one.contains(char::is_whitespace) => curl::parse(&shell_words::split(one)?),
        [one] if !one.contains("://") => Err(format!(
            "{one}: no such file; give a file, a URL with its scheme (http://…), or a curl command"
        )),
        words => curl::parse(words),
    }
}

/// Where the check decided.
#[derive(Debug, PartialEq, Eq)]
enum Phase {
    Headers,
    Body,
}

/// What driving the check produced.
struct Trace {
    step: Step,
    phase: Phase,
    /// What the filter had read when it decided (for a decision from the headers alone, what
    /// the headers and query hold).
    evidence: Evidence,
    /// Body bytes handed to the check.
    body_offered: usize,
}

/// Drives [`RequestCheck`] as the filter does: the headers, then each body chunk until a
/// decision.
fn drive(policy: &Policy, headers: &[Header], chunks: &[Vec<u8>]) -> Trace {
    let started = RequestCheck::start(policy, headers, chunks.is_empty());
    let mut evidence = Evidence::of_head(headers);
    let Some(mut check) = started.check else {
        return Trace {
            step: started.step,
            phase: Phase::Headers,
            evidence,
            body_offered: 0,
        };
    };
    let mut step = started.step;
    let mut offered = 0;
    let mut used = 0;
    for (index, chunk) in chunks.iter().enumerate() {
        offered += chunk.len();
        used = index + 1;
        step = check.body(policy, chunk, used == chunks.len());
        if step != Step::ReadBody {
            break;
        }
    }
    if step == Step::ReadBody {
        step = check.finish(policy);
    }
    if body_kind(headers) == BodyKind::Form {
        let read = chunks.get(..used).unwrap_or_default();
        evidence.read_body(read, policy.max_body_bytes, used == chunks.len());
    }
    Trace {
        step,
        phase: Phase::Body,
        evidence,
        body_offered: offered,
    }
}

fn product_label(policy: &Policy, product: Option<usize>) -> String {
    match product {
        Some(index) => {
            let p = &policy.catalog.products[index];
            let all = if p.all {
                ", every operation listed"
            } else if !policy.catalog.is_listed_product(index) {
                ", no listed operations"
            } else {
                ""
            };
            format!("{} ({}{all})", p.id, p.name)
        }
        None => "no known product".into(),
    }
}

fn action_note(policy: &Policy, products: &[Option<usize>], action: &Found) -> String {
    let catalog = &policy.catalog;
    if action.cut || !is_plain_action(&action.value) {
        return "cannot be read with certainty".into();
    }
    let listed: Vec<&str> = products
        .iter()
        .flatten()
        .filter(|&&p| catalog.products[p].all || catalog.is_listed(p, &action.value))
        .map(|&p| catalog.products[p].id.as_str())
        .collect();
    if !listed.is_empty() {
        format!("listed for {}", listed.join(", "))
    } else if (products.is_empty() || products.contains(&None))
        && catalog.is_listed_anywhere(&action.value)
    {
        "listed for another product (and the host has none)".into()
    } else {
        "not listed".into()
    }
}

fn body_line(request: &HttpRequest, headers: &[Header], trace: &Trace, policy: &Policy) -> String {
    let total = request.body_len();
    let kind = body_kind(headers);
    if total == 0 {
        "none".into()
    } else if kind == BodyKind::NoParams {
        format!("{total} bytes, not read (JSON, an octet stream or a tunnel: not a parameter list)")
    } else if kind == BodyKind::Unread {
        format!("{total} bytes, not read (its content type or encoding is not one akguard reads)")
    } else if trace.phase == Phase::Headers {
        format!("{total} bytes, not read (decided from the headers)")
    } else {
        let read = trace.body_offered.min(policy.max_body_bytes);
        format!(
            "{total} bytes, form-encoded; {read} read before deciding (max_body_bytes {})",
            policy.max_body_bytes
        )
    }
}

fn verdict_lines(out: &mut String, trace: &Trace, policy: &Policy, any_leaked: bool) {
    let phase = match trace.phase {
        Phase::Headers => "from the headers",
        Phase::Body => "after reading the body",
    };
    match &trace.step {
        Step::Deny(denial) => deny_lines(out, denial, phase),
        _ => {
            let why = if policy.keys.is_empty() {
                "leaked_keys is empty: nothing is protected"
            } else if any_leaked {
                "a leaked key, but no rule denies this call"
            } else {
                "no leaked key"
            };
            let _ = writeln!(out, "verdict:  allow, decided {phase} ({why})");
        }
    }
}

fn deny_lines(out: &mut String, denial: &Denial, phase: &str) {
    let verdict = match denial.mode {
        Mode::Enforce => "deny",
        Mode::Shadow => "shadow-deny (mode shadow: logged and counted, the request passes)",
    };
    let _ = writeln!(out, "verdict:  {verdict}, decided {phase}");
    let _ = writeln!(
        out,
        "rule:     {}: {}",
        denial.rule.label(),
        denial.rule.describe()
    );
    let reply = denial.reply("<generated>");
    let code = match denial.kind {
        ReplyKind::Leaked => reply::CODE,
        ReplyKind::BodyTooLarge => reply::TOO_LARGE_CODE,
    };
    let content_type = reply
        .headers
        .iter()
        .find(|(name, _)| *name == "content-type")
        .map(|(_, value)| value.as_str())
        .unwrap_or_default();
    if denial.mode == Mode::Enforce {
        let _ = writeln!(out, "reply:    {} {code} ({content_type})", reply.status);
    }
    let request_id = denial.request_id.as_deref().unwrap_or("<generated>");
    let _ = writeln!(out, "log:      {}", denial.log_line(request_id));
}

/// One line per value found: what it is, and where it was found; then how many distinct
/// values were left out.
fn list(
    out: &mut String,
    title: &str,
    listing: &Listing,
    describe: impl Fn(&Found) -> (String, String),
) {
    if listing.found.is_empty() {
        let _ = writeln!(out, "{title:<9} none");
    }
    for (i, f) in listing.found.iter().enumerate() {
        let head = if i == 0 { title } else { "" };
        let cut = if f.cut { " (cut short)" } else { "" };
        let (value, note) = describe(f);
        let note = if note.is_empty() {
            String::new()
        } else {
            format!(": {note}")
        };
        let _ = writeln!(out, "{head:<9} {value}{cut} in {}{note}", f.source.label());
    }
    if listing.left_out > 0 {
        let _ = writeln!(
            out,
            "{:<9} … and {} more distinct values, not listed",
            "", listing.left_out
        );
    }
}

/// The explanation text and the exit code.
fn explain(top: &Policy, request: &HttpRequest, args: &Args) -> (String, u8) {
    let headers = request.envoy_headers();
    let choice = rule_choice::choose(
        top,
        &headers,
        args.route.as_deref(),
        args.service.as_deref(),
    );
    let policy = top.chosen(choice.index);
    let trace = drive(policy, &headers, &request.body);
    let ev = &trace.evidence;
    let products: Vec<Option<usize>> = match policy.product {
        // The configuration pins the product: the hosts do not name it.
        Some(product) => vec![Some(product)],
        None => ev
            .hosts
            .iter()
            .map(|host| resolve(&policy.catalog, &policy.endpoints, host))
            .collect(),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "request:  {} {}",
        printable(request.method.as_bytes()),
        printable(request.authority.as_bytes())
    );
    if let Some(line) = choice.line(top) {
        let _ = writeln!(out, "config:   {line}");
    }
    if ev.hosts.is_empty() {
        let _ = writeln!(out, "host:     none");
    }
    if let Some(product) = policy.product {
        let shown: Vec<String> = ev.hosts.iter().map(|h| printable(h.as_bytes())).collect();
        let _ = writeln!(
            out,
            "host:     {} -> {}, pinned by the configuration's product",
            if shown.is_empty() {
                "none".to_string()
            } else {
                shown.join(", ")
            },
            product_label(policy, Some(product))
        );
    }
    for (host, product) in ev
        .hosts
        .iter()
        .zip(&products)
        .filter(|_| policy.product.is_none())
    {
        let _ = writeln!(
            out,
            "host:     {} -> {}",
            printable(host.as_bytes()),
            product_label(policy, *product)
        );
    }
    // Other readings of the keys (tokens, decoded values) are shown when they are leaked.
    let keys = Listing {
        found: ev
            .keys
            .found
            .iter()
            .chain(
                ev.other_key_readings
                    .found
                    .iter()
                    .filter(|f| policy.keys.contains(&f.value)),
            )
            .cloned()
            .collect(),
        left_out: ev.keys.left_out,
    };
    let any_leaked = keys.found.iter().any(|f| policy.keys.contains(&f.value));
    list(&mut out, "keys:", &keys, |f| {
        let state = if policy.keys.contains(&f.value) {
            "leaked"
        } else {
            "not leaked"
        };
        (mask_key(&f.value), state.to_string())
    });
    list(&mut out, "actions:", &ev.actions, |f| {
        (printable(&f.value), action_note(policy, &products, f))
    });
    list(&mut out, "versions:", &ev.versions, |f| {
        (printable(&f.value), String::new())
    });
    let format = if ev.xml { "xml" } else { "json" };
    let _ = writeln!(out, "format:   {format}");
    let _ = writeln!(
        out,
        "body:     {}",
        body_line(request, &headers, &trace, policy)
    );
    verdict_lines(&mut out, &trace, policy, any_leaked);
    let code = match &trace.step {
        Step::Deny(denial) if denial.mode == Mode::Shadow => EXIT_SHADOW_DENY,
        Step::Deny(_) => EXIT_DENY,
        _ => EXIT_OK,
    };
    (out, code)
}

pub fn run(args: &Args) -> CliResult {
    if !super::filter_needs_envoy(args.filter.as_ref(), args.envoy.as_ref()) {
        return Ok(super::EXIT_USAGE);
    }
    let source = config_source::single(
        args.config.as_ref(),
        args.envoy.as_ref(),
        args.filter.as_deref(),
        args.syntax,
    )?;
    let loaded = config::load(&source.bytes).map_err(|e| format!("{}: {e}", source.label))?;
    for warning in &loaded.warnings {
        eprintln!("{}: warning: {warning}", source.label);
    }
    let request = read_request(args)?;
    for note in &request.notes {
        eprintln!("note: {note}");
    }
    let (text, code) = explain(&loaded.policy, &request, args);
    print!("{text}");
    Ok(code)
}

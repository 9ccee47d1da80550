//! The evasion suite (`tests/evasion/*.txt`) through the release module under the wasm
//! harness, driven through the proxy-wasm ABI as Envoy drives it. A request with a body is
//! sent whole, one byte a chunk, and split in two at every byte (every fourth byte past 128).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod evasion;
mod harness;

use evasion::{check, load_cases, wire, Case, Outcome, Variant};
use harness::{LogLevel, Request, Vm};
use std::collections::HashMap;

struct Runner {
    vm: Vm,
    plugins: HashMap<String, u32>,
    sent: usize,
}

impl Runner {
    fn plugin(&mut self, config: &str) -> u32 {
        if let Some(root) = self.plugins.get(config) {
            return *root;
        }
        let plugin = self.vm.start_plugin(config);
        assert!(plugin.configured, "configuration rejected: {config}");
        self.plugins.insert(config.to_string(), plugin.root_id);
        plugin.root_id
    }

    fn run(&mut self, root: u32, headers: &[(String, Vec<u8>)], chunks: &[&[u8]]) -> Outcome {
        let request = Request {
            headers: headers.to_vec(),
            body: chunks.iter().map(|c| c.to_vec()).collect(),
            trailers: Vec::new(),
        };
        let id = self.vm.send(root, &request);
        self.sent += 1;
        let stream = self.vm.stream(id);
        let rule = self.vm.logs_of(id).iter().find_map(|line| {
            let rest = line.message.strip_prefix("akguard deny:")?;
            let rule = rest.split(" rule=").nth(1)?.split(' ').next()?;
            Some(rule.to_string())
        });
        let outcome = match &stream.local_response {
            Some(reply) => Outcome {
                verdict: "deny".into(),
                rule,
                status: Some(reply.status),
                body: Some(reply.body_text()),
            },
            None if stream.passed() => Outcome {
                verdict: "allow".into(),
                rule,
                ..Outcome::default()
            },
            None => Outcome {
                verdict: format!("neither answered nor let through: {:?}", stream.callbacks),
                ..Outcome::default()
            },
        };
        self.vm.forget_finished_streams();
        outcome
    }
}

fn chunkings(body: &[u8]) -> Vec<Vec<&[u8]>> {
    if body.is_empty() {
        return vec![vec![]];
    }
    let mut all = vec![vec![body], body.chunks(1).collect()];
    let step = if body.len() <= 128 { 1 } else { 4 };
    for at in (1..body.len()).step_by(step) {
        let (a, b) = body.split_at(at);
        all.push(vec![a, b]);
    }
    all
}

fn run_case(runner: &mut Runner, case: &Case, variant: Variant) -> Result<(), String> {
    let root = runner.plugin(case.config_text());
    let request = wire::parse(&case.wire(variant)).expect("a case request parses");
    let headers = request.headers();
    for (i, chunks) in chunkings(&request.body).into_iter().enumerate() {
        let mut got = runner.run(root, &headers, &chunks);
        if i > 0 {
            // An early deny may name another rule than a whole-body one; the verdict holds.
            got.rule = None;
        }
        check(case, variant, &got).map_err(|e| {
            let sizes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
            format!("{e} [body chunks {sizes:?}]")
        })?;
    }
    Ok(())
}

#[test]
fn evasion_suite_through_the_wasm_module() {
    let cases = load_cases();
    assert!(cases.len() >= 100, "only {} evasion cases", cases.len());
    let mut runner = Runner {
        vm: Vm::new(),
        plugins: HashMap::new(),
        sent: 0,
    };
    let mut failures = Vec::new();
    for case in &cases {
        for variant in Variant::BOTH {
            if let Err(e) = run_case(&mut runner, case, variant) {
                failures.push(e);
            }
        }
    }
    println!(
        "{} cases and their clean twins, {} requests",
        cases.len(),
        runner.sent
    );
    assert!(
        runner.vm.unimplemented().is_empty(),
        "{:?}",
        runner.vm.unimplemented()
    );
    assert!(runner.vm.logs(LogLevel::Critical).is_empty());
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

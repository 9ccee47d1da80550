//! The deny log of one VM, bounded: at most so many full deny lines a second, and every other
//! deny counted in a summary line written when its second is over, so that a flood of
//! leaked-key calls can neither fill a disk nor make logging the bottleneck, and still every
//! deny is accounted for.
//!
//! A deny past the second's allowance joins the group of its masked key, product, action, rule
//! and mode; a second holds at most [`MAX_GROUPS`] groups, and denies of further groups are
//! counted together in one line of their own. The full lines written plus the counts in the
//! summary lines equal the denies (enforced and shadow), which the metrics count exactly.

use super::check::{or_dash, Denial};

/// Full deny lines a VM writes a second unless configured (`deny_log_lines_per_second`).
pub const DEFAULT_LINES_PER_SECOND: u32 = 20;
/// Largest accepted `deny_log_lines_per_second`.
pub const MAX_LINES_PER_SECOND: u32 = 100_000;
/// Groups a second's summary names one by one.
pub const MAX_GROUPS: usize = 16;

/// What a summarised deny is grouped by.
#[derive(Clone, Debug)]
struct Group {
    masked_key: String,
    product: String,
    action: String,
    rule: &'static str,
    mode: &'static str,
}

/// The state of the log: the current second, its full lines, and its summarised denies.
#[derive(Debug)]
pub struct DenyLog {
    lines_per_second: u32,
    second: u64,
    lines: u32,
    groups: Vec<(Group, u64)>,
    /// Summarised denies of groups past [`MAX_GROUPS`].
    others: u64,
}

impl DenyLog {
    pub fn new(lines_per_second: u32) -> Self {
        DenyLog {
            lines_per_second,
            second: 0,
            lines: 0,
            groups: Vec::new(),
            others: 0,
        }
    }

    /// Changes the allowance (a new configuration); what is counted stays counted.
    pub fn set_lines_per_second(&mut self, lines_per_second: u32) {
        self.lines_per_second = lines_per_second;
    }

    /// Records a deny at `now` (seconds): the lines to write, in order — the summary of an
    /// earlier second that is over, then this deny's own line if the second allows it.
    pub fn record(&mut self, now: u64, denial: &Denial, request_id: &str) -> Vec<String> {
        let mut out = self.tick(now);
        if self.lines < self.lines_per_second {
            self.lines += 1;
            out.push(denial.log_line(request_id));
            return out;
        }
        let (rule, mode) = (denial.rule.label(), denial.mode.label());
        let same = |g: &Group| {
            g.masked_key == denial.masked_key
                && g.product == denial.product
                && g.action == denial.action
                && g.rule == rule
                && g.mode == mode
        };
        if let Some((_, count)) = self.groups.iter_mut().find(|(g, _)| same(g)) {
            *count += 1;
        } else if self.groups.len() < MAX_GROUPS {
            let group = Group {
                masked_key: denial.masked_key.clone(),
                product: denial.product.clone(),
                action: denial.action.clone(),
                rule,
                mode,
            };
            self.groups.push((group, 1));
        } else {
            self.others += 1;
        }
        out
    }

    /// The summary lines of the second that is over by `now` (seconds), if any; `now` starts
    /// the next one.
    pub fn tick(&mut self, now: u64) -> Vec<String> {
        if now == self.second {
            return Vec::new();
        }
        let out = self.summary();
        self.second = now;
        self.lines = 0;
        out
    }

    /// The summary lines of the current second, emptying it.
    fn summary(&mut self) -> Vec<String> {
        let second = self.second;
        let mut out: Vec<String> = self
            .groups
            .drain(..)
            .map(|(g, count)| {
                format!(
                    "akguard deny-summary: key={} product={} action={} rule={} mode={} count={count} second={second}",
                    or_dash(&g.masked_key),
                    or_dash(&g.product),
                    or_dash(&g.action),
                    g.rule,
                    g.mode,
                )
            })
            .collect();
        if self.others > 0 {
            out.push(format!(
                "akguard deny-summary: other-groups count={} second={second}",
                self.others
            ));
            self.others = 0;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::config::Mode;
    use crate::core::decision::Rule;
    use crate::core::reply::{Format, ReplyKind};

    fn denial(key: &str, action: &str) -> Denial {
        Denial {
            masked_key: key.into(),
            product: "ecs".into(),
            action: action.into(),
            rule: Rule::ListedAction,
            mode: Mode::Enforce,
            host: "ecs.aliyuncs.com".into(),
            request_id: None,
            format: Format::Json,
            kind: ReplyKind::Leaked,
        }
    }

    /// The number of denies a set of lines accounts for.
    fn accounted(lines: &[String]) -> u64 {
        lines
            .iter()
            .map(|line| {
                if line.starts_with("akguard deny: ") {
                    1
                } else {
                    let count = line.split(' ').find_map(|w| w.strip_prefix("count="));
                    count.and_then(|c| c.parse().ok()).unwrap_or(0)
                }
            })
            .sum()
    }

    #[test]
    fn full_lines_up_to_the_allowance_then_one_summary_a_group() {
        let mut log = DenyLog::new(3);
        let mut lines = Vec::new();
        for i in 0..10 {
            let action = if i % 2 == 0 {
                "RunInstances"
            } else {
                "DeleteInstance"
            };
            lines.extend(log.record(100, &denial("LTAI****0001", action), "r"));
        }
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| l.starts_with("akguard deny: ")));
        let summary = log.tick(101);
        assert_eq!(
            summary,
            [
                "akguard deny-summary: key=LTAI****0001 product=ecs action=DeleteInstance rule=listed-action mode=enforce count=4 second=100",
                "akguard deny-summary: key=LTAI****0001 product=ecs action=RunInstances rule=listed-action mode=enforce count=3 second=100",
            ]
        );
        lines.extend(summary);
        assert_eq!(accounted(&lines), 10);
        // A new second has its own allowance.
        assert_eq!(log.record(101, &denial("k", "RunInstances"), "r").len(), 1);
        assert!(log.tick(101).is_empty());
    }

    #[test]
    fn a_new_second_writes_the_last_ones_summary_first() {
        let mut log = DenyLog::new(1);
        log.record(5, &denial("a", "RunInstances"), "r");
        log.record(5, &denial("a", "RunInstances"), "r");
        let lines = log.record(7, &denial("a", "RunInstances"), "r");
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("count=1 second=5"), "{lines:?}");
        assert!(lines[1].starts_with("akguard deny: "));
    }

    #[test]
    fn groups_are_bounded_and_every_deny_still_counted() {
        let mut log = DenyLog::new(0);
        let mut lines = Vec::new();
        for i in 0..1000 {
            lines.extend(log.record(1, &denial(&format!("k{i}"), "RunInstances"), "r"));
        }
        assert!(lines.is_empty());
        let summary = log.tick(2);
        assert_eq!(summary.len(), MAX_GROUPS + 1);
        assert!(summary[MAX_GROUPS].starts_with("akguard deny-summary: other-groups count=984"));
        assert_eq!(accounted(&summary), 1000);
    }

    #[test]
    fn a_flood_over_many_seconds_stays_within_the_bound_and_is_accounted_for() {
        let mut log = DenyLog::new(DEFAULT_LINES_PER_SECOND);
        let mut lines = Vec::new();
        let (seconds, per_second) = (30u64, 5000u64);
        for second in 0..seconds {
            for i in 0..per_second {
                let key = format!("LTAI****{:04}", i % 40);
                lines.extend(log.record(second, &denial(&key, "RunInstances"), "r"));
            }
        }
        lines.extend(log.tick(seconds));
        let full = lines
            .iter()
            .filter(|l| l.starts_with("akguard deny: "))
            .count();
        assert_eq!(full as u64, seconds * u64::from(DEFAULT_LINES_PER_SECOND));
        assert!(lines.len() as u64 <= seconds * (u64::from(DEFAULT_LINES_PER_SECOND) + 17));
        assert_eq!(accounted(&lines), seconds * per_second);
    }
}

//! `calm report weekly`: the operator's weekly review, from the event log alone. Seven days of
//! mail volume, the delay of remote deliveries per day (the queue age a recipient felt), the
//! top five defer reasons and whether each is getting better, user spam reports by root cause,
//! authentication failures by source network, and one suggested policy clean-up.
//!
//! Event-log timestamps are RFC 3339 UTC with a fixed width, so a day is the first ten
//! characters and a period is a string range.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::BufRead;
use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::Value;
use time::{Date, Duration, OffsetDateTime};

/// Summaries of the event log.
#[derive(Subcommand)]
pub enum ReportCommand {
    /// The weekly review: the seven days ending with --until (default: today, UTC).
    Weekly {
        /// The last day of the week to review, YYYY-MM-DD (UTC).
        #[arg(long)]
        until: Option<String>,
    },
}

pub fn run(command: ReportCommand, config: Option<&Path>) -> Result<ExitCode> {
    let (config, _) = super::load_config(config)?;
    let ReportCommand::Weekly { until } = command;
    let last = match until {
        Some(day) => parse_day(&day)?,
        None => OffsetDateTime::now_utc().date(),
    };
    let days: Vec<String> = (0..7)
        .rev()
        .map(|back| (last - Duration::days(back)).to_string())
        .collect();
    let path = config.event_log();
    let file = std::fs::File::open(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut week = Week::new(days);
    for line in std::io::BufReader::new(file).lines() {
        if let Ok(event) = serde_json::from_str::<Value>(&line?) {
            week.add(&event);
        }
    }
    let policy = crate::gate::load(&config)?;
    let rules: Vec<RuleInfo> = calm_policy::Stage::ALL
        .iter()
        .flat_map(|stage| policy.rules(*stage))
        .map(|r| RuleInfo {
            name: r.name().to_string(),
            place: format!("{}:{}", r.file(), r.line()),
        })
        .collect();
    print!("{}", week.render(&path, &rules));
    Ok(ExitCode::SUCCESS)
}

fn parse_day(text: &str) -> Result<Date> {
    let parts: Vec<Option<i32>> = text.split('-').map(|p| p.parse().ok()).collect();
    let date = match parts[..] {
        [Some(y), Some(m), Some(d)] => u8::try_from(m)
            .ok()
            .and_then(|m| time::Month::try_from(m).ok())
            .zip(u8::try_from(d).ok())
            .and_then(|(m, d)| Date::from_calendar_date(y, m, d).ok()),
        _ => None,
    };
    match date {
        Some(d) => Ok(d),
        None => bail!("--until {text:?}: expected a date as YYYY-MM-DD"),
    }
}

/// A policy rule, for the clean-up suggestion.
pub struct RuleInfo {
    pub name: String,
    pub place: String,
}

/// Counts for one day.
#[derive(Default)]
struct Day {
    accepted: u64,
    rejected: u64,
    delivered_local: u64,
    delivered_remote: u64,
    deferred: u64,
    bounced: u64,
    /// Seconds from arrival to remote delivery.
    delays: Vec<u64>,
}

/// One kind of deferral, counted per day.
#[derive(Default)]
struct Reason {
    per_day: Vec<u64>,
    domains: BTreeSet<String>,
}

/// Everything the review needs, gathered in one pass over the log.
pub struct Week {
    days: Vec<String>,
    per_day: Vec<Day>,
    events: u64,
    reasons: HashMap<String, Reason>,
    false_positives: BTreeMap<String, u64>,
    report_sources: BTreeMap<String, u64>,
    false_negatives: u64,
    auth_failures: BTreeMap<String, (u64, BTreeSet<String>)>,
    fired: HashMap<String, u64>,
}

impl Week {
    pub fn new(days: Vec<String>) -> Week {
        let per_day = days.iter().map(|_| Day::default()).collect();
        Week {
            days,
            per_day,
            events: 0,
            reasons: HashMap::new(),
            false_positives: BTreeMap::new(),
            report_sources: BTreeMap::new(),
            false_negatives: 0,
            auth_failures: BTreeMap::new(),
            fired: HashMap::new(),
        }
    }

    /// Counts one event if it falls in the week.
    pub fn add(&mut self, ev: &Value) {
        let Some(day) = ev["ts"].as_str().and_then(|ts| ts.get(..10)) else {
            return;
        };
        let Some(i) = self.days.iter().position(|d| d == day) else {
            return;
        };
        self.events += 1;
        let text = |key: &str| ev[key].as_str().unwrap_or("-").to_string();
        let d = &mut self.per_day[i];
        match ev["event"].as_str().unwrap_or("") {
            "accepted" => d.accepted += 1,
            "reject" => d.rejected += 1,
            "delivered" => d.delivered_local += 1,
            "delivered_remote" => {
                d.delivered_remote += 1;
                d.delays.extend(ev["delay_secs"].as_u64());
            }
            "bounced" => d.bounced += 1,
            "deferred" => {
                d.deferred += 1;
                let reason = self.reasons.entry(defer_key(ev)).or_default();
                reason.per_day.resize(7, 0);
                reason.per_day[i] += 1;
                reason.domains.insert(text("domain"));
            }
            "false_positive" => {
                *self.false_positives.entry(text("root_cause")).or_default() += 1;
                *self.report_sources.entry(text("source")).or_default() += 1;
            }
            "false_negative" => {
                self.false_negatives += 1;
                *self.report_sources.entry(text("source")).or_default() += 1;
            }
            "auth_failure" => {
                let net = ev["client_ip"]
                    .as_str()
                    .and_then(|ip| ip.parse::<IpAddr>().ok())
                    .map_or_else(|| "-".to_string(), network_of);
                let entry = self.auth_failures.entry(net).or_default();
                entry.0 += 1;
                entry.1.insert(text("user"));
            }
            "verdict" => *self.fired.entry(text("rule")).or_default() += 1,
            _ => {}
        }
    }

    pub fn render(&self, log: &Path, rules: &[RuleInfo]) -> String {
        let mut out = format!(
            "calm weekly review: {} to {} ({} events from {})\n",
            self.days[0],
            self.days[6],
            self.events,
            log.display()
        );
        self.render_volume(&mut out);
        self.render_delays(&mut out);
        self.render_reasons(&mut out);
        self.render_reports(&mut out);
        self.render_auth(&mut out);
        out.push_str("\nSuggested clean-up\n  ");
        out.push_str(&self.suggestion(rules));
        out.push('\n');
        out
    }

    fn render_volume(&self, out: &mut String) {
        out.push_str("\nMail per day  accepted  rejected   local  remote  deferred  bounced\n");
        for (day, d) in self.days.iter().zip(&self.per_day) {
            out.push_str(&format!(
                "  {day}  {:>8}  {:>8}  {:>6}  {:>6}  {:>8}  {:>7}\n",
                d.accepted,
                d.rejected,
                d.delivered_local,
                d.delivered_remote,
                d.deferred,
                d.bounced
            ));
        }
    }

    fn render_delays(&self, out: &mut String) {
        out.push_str(
            "\nQueue age at remote delivery (seconds)   P50     P95     max  deliveries\n",
        );
        for (day, d) in self.days.iter().zip(&self.per_day) {
            let mut delays = d.delays.clone();
            delays.sort_unstable();
            match percentiles(&delays) {
                Some((p50, p95, max)) => out.push_str(&format!(
                    "  {day}                         {p50:>7} {p95:>7} {max:>7}  {:>10}\n",
                    delays.len()
                )),
                None => out.push_str(&format!(
                    "  {day}                         no remote deliveries\n"
                )),
            }
        }
        let half = |r: std::ops::Range<usize>| {
            let mut all: Vec<u64> = self.per_day[r]
                .iter()
                .flat_map(|d| d.delays.clone())
                .collect();
            all.sort_unstable();
            percentiles(&all).map(|(_, p95, _)| p95)
        };
        if let (Some(before), Some(after)) = (half(0..4), half(4..7)) {
            out.push_str(&format!(
                "  trend: P95 {before} s in the first four days, {after} s in the last three: {}\n",
                trend(before as f64, after as f64)
            ));
        }
    }

    fn render_reasons(&self, out: &mut String) {
        out.push_str(
            "\nTop defer reasons                     total  first 4 days/day  last 3/day  trend\n",
        );
        let mut reasons: Vec<_> = self.reasons.iter().collect();
        reasons.sort_by_key(|(key, r)| (std::cmp::Reverse(r.per_day.iter().sum::<u64>()), *key));
        if reasons.is_empty() {
            out.push_str("  no deferrals\n");
        }
        for (key, r) in reasons.iter().take(5) {
            let before = r.per_day[..4].iter().sum::<u64>() as f64 / 4.0;
            let after = r.per_day[4..].iter().sum::<u64>() as f64 / 3.0;
            let domains: Vec<&str> = r.domains.iter().take(3).map(String::as_str).collect();
            out.push_str(&format!(
                "  {key}\n    {:>38} {before:>17.1} {after:>11.1}  {}  (to {})\n",
                r.per_day.iter().sum::<u64>(),
                trend(before, after),
                domains.join(", ")
            ));
        }
    }

    fn render_reports(&self, out: &mut String) {
        let total: u64 = self.false_positives.values().sum();
        let sources: Vec<String> = self
            .report_sources
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        out.push_str(&format!(
            "\nUser reports: {total} false positives, {} false negatives (by source: {})\n",
            self.false_negatives,
            if sources.is_empty() {
                "none".to_string()
            } else {
                sources.join(", ")
            }
        ));
        if total > 0 {
            out.push_str("  False positives by root cause (the rule that contributed most)\n");
        }
        for (cause, n) in sorted_desc(&self.false_positives) {
            out.push_str(&format!("  {n:>6}  {cause}\n"));
        }
    }

    fn render_auth(&self, out: &mut String) {
        let total: u64 = self.auth_failures.values().map(|(n, _)| n).sum();
        out.push_str(&format!(
            "\nAuthentication failures: {total}, by source network\n"
        ));
        let mut nets: Vec<_> = self.auth_failures.iter().collect();
        nets.sort_by_key(|(net, (n, _))| (std::cmp::Reverse(*n), *net));
        for (net, (n, users)) in nets.iter().take(5) {
            let some: Vec<&str> = users.iter().take(3).map(String::as_str).collect();
            let more = users.len().saturating_sub(3);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            out.push_str(&format!(
                "  {n:>6}  {net:<20} {} user names: {}{more}\n",
                users.len(),
                some.join(", ")
            ));
        }
    }

    /// One item: the rule behind most false positives, else a rule that never fired.
    pub fn suggestion(&self, rules: &[RuleInfo]) -> String {
        let place = |name: &str| {
            rules
                .iter()
                .find(|r| r.name == name)
                .map_or_else(String::new, |r| format!(" ({})", r.place))
        };
        let total: u64 = self.false_positives.values().sum();
        if let Some((cause, n)) = sorted_desc(&self.false_positives).first()
            && *cause != "none"
        {
            return format!(
                "rule `{cause}`{} was behind {n} of {total} false positives: review its points or conditions (`calm spam explain` on a reported message shows them).",
                place(cause)
            );
        }
        let never = rules.iter().find(|r| !self.fired.contains_key(&r.name));
        match never {
            Some(r) => format!(
                "rule `{}` ({}) never decided or tagged anything this week: remove it, or check with `calm simulate` that it still can fire.",
                r.name, r.place
            ),
            None => "nothing: every rule fired this week and no false positives were reported."
                .to_string(),
        }
    }
}

/// A deferral's kind: reply code, status, and the reason without numbers and addresses,
/// shortened.
fn defer_key(ev: &Value) -> String {
    let status = ev["status"].as_str().unwrap_or("-");
    let reason = ev["reason"].as_str().unwrap_or("");
    let mut out = String::new();
    let mut in_angle = false;
    for c in reason.chars() {
        match c {
            '<' => in_angle = true,
            '>' => {
                in_angle = false;
                out.push_str("<…>");
            }
            _ if in_angle => {}
            '0'..='9' => {
                if !out.ends_with('#') {
                    out.push('#');
                }
            }
            _ => out.push(c),
        }
    }
    // The reply's own code and status lead the text; the key shows them once.
    let words: Vec<&str> = out
        .split_whitespace()
        .skip_while(|w| w.chars().all(|c| matches!(c, '#' | '.' | '-')))
        .collect();
    let short: String = words.join(" ").chars().take(60).collect();
    let code = ev["code"]
        .as_u64()
        .map_or_else(|| "local".to_string(), |c| c.to_string());
    format!("{code} {status} {short}")
}

/// IPv4 /24 or IPv6 /48: where a password-guessing campaign usually comes from.
fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// P50, P95 and max of sorted values (nearest rank).
fn percentiles(sorted: &[u64]) -> Option<(u64, u64, u64)> {
    let last = *sorted.last()?;
    let rank =
        |p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    Some((rank(0.5), rank(0.95), last))
}

/// Whether a rate went down (better), up (worse) or stayed within a quarter.
fn trend(before: f64, after: f64) -> &'static str {
    if before == 0.0 && after > 0.0 {
        "new"
    } else if after < before * 0.8 {
        "improving"
    } else if after > before * 1.25 {
        "worsening"
    } else {
        "steady"
    }
}

fn sorted_desc(counts: &BTreeMap<String, u64>) -> Vec<(&str, u64)> {
    let mut v: Vec<(&str, u64)> = counts.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    v.sort_by_key(|(k, n)| (std::cmp::Reverse(*n), *k));
    v
}

#[cfg(test)]
mod tests;

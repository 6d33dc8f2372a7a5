//! `calm shadow report`: what the shadow policy would have decided differently, from the event
//! log's `shadow_diff` lines, grouped by stage and rules, most frequent first.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;

/// Shadow-policy operations.
#[derive(Subcommand)]
pub enum ShadowCommand {
    /// Summarise the verdicts the shadow policy would have changed.
    Report,
}

/// One group of differences and an example of it.
#[derive(Default)]
struct Group {
    count: usize,
    example_active: String,
    example_shadow: String,
}

pub fn run(command: ShadowCommand, config: Option<&Path>) -> Result<ExitCode> {
    let (config, _) = super::load_config(config)?;
    let ShadowCommand::Report = command;
    let path = config.event_log();
    let file = std::fs::File::open(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for line in std::io::BufReader::new(file).lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(&line?) else {
            continue;
        };
        if event["event"] != "shadow_diff" {
            continue;
        }
        let key = format!(
            "{}: active {} ({}) -> shadow {} ({})",
            text(&event["stage"]),
            text(&event["active"]),
            text(&event["active_rule"]),
            text(&event["shadow"]),
            text(&event["shadow_rule"]),
        );
        let group = groups.entry(key).or_default();
        group.count += 1;
        group.example_active = text(&event["active_explain"]);
        group.example_shadow = text(&event["shadow_explain"]);
    }
    let mut sorted: Vec<_> = groups.into_iter().collect();
    sorted.sort_by_key(|(_, g)| std::cmp::Reverse(g.count));
    let total: usize = sorted.iter().map(|(_, g)| g.count).sum();
    for (key, group) in &sorted {
        println!("{:6}  {key}", group.count);
        println!("        e.g. active: {}", group.example_active);
        println!("             shadow: {}", group.example_shadow);
    }
    println!(
        "{total} verdicts would differ under the shadow policy ({} kinds)",
        sorted.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn text(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| "-".to_string(), str::to_string)
}

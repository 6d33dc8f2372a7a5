//! `calm queue`: the outbound queue. Listing and shape read the spool directory directly;
//! operations that change a message go through the running daemon, so its scheduler sees them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use calm_queue::outbound::{EntryState, ListFilter, Outbound, QueueEntry, RecipientStatus};
use clap::Subcommand;

/// Queue operations.
#[derive(Subcommand)]
pub enum QueueCommand {
    /// List queued messages, oldest first: id, state, age, size, sender, recipients, last reply.
    List {
        /// Only messages with a pending recipient in this domain.
        #[arg(long)]
        domain: Option<String>,
        /// Only messages from this sender (`<>` for bounces).
        #[arg(long)]
        sender: Option<String>,
        /// Only messages in this state: active, deferred, hold, done.
        #[arg(long)]
        state: Option<String>,
        /// Only messages at least this many seconds old.
        #[arg(long)]
        min_age: Option<u64>,
    },
    /// Pending recipients by domain and age (like Postfix qshape), with age percentiles.
    Shape,
    /// Everything about one message: envelope and each recipient's attempts and last reply.
    Show { id: String },
    /// Stop delivery attempts for a message until it is released.
    Hold { id: String },
    /// Let a held message be delivered again.
    Release { id: String },
    /// Try a message now instead of at its next scheduled time.
    Retry { id: String },
    /// Delete a message without telling the sender (the reason is logged).
    Delete {
        id: String,
        #[arg(long, default_value = "operator request")]
        reason: String,
    },
    /// Give up on a message and send the sender a bounce (DSN).
    Bounce {
        id: String,
        #[arg(long, default_value = "operator request")]
        reason: String,
    },
}

pub fn run(command: QueueCommand, config: Option<&Path>) -> Result<ExitCode> {
    let (config, _) = super::load_config(config)?;
    let dir = config.server.data_dir.join("spool").join("outbound");
    let remote = |op: &str, id: String, reason: Option<String>| -> Result<ExitCode> {
        let args: Vec<String> = [Some(op.to_string()), Some(id), reason]
            .into_iter()
            .flatten()
            .collect();
        let response = crate::control::send(&config.server.data_dir, "queue", &args)?;
        println!("{}", response.message);
        Ok(if response.ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    };
    match command {
        QueueCommand::List {
            domain,
            sender,
            state,
            min_age,
        } => {
            let state = state.map(|s| parse_state(&s)).transpose()?;
            list(
                &dir,
                &ListFilter {
                    domain,
                    sender,
                    state,
                    min_age_secs: min_age,
                },
            )
        }
        QueueCommand::Shape => shape(&dir),
        QueueCommand::Show { id } => remote("show", id, None),
        QueueCommand::Hold { id } => remote("hold", id, None),
        QueueCommand::Release { id } => remote("release", id, None),
        QueueCommand::Retry { id } => remote("retry", id, None),
        QueueCommand::Delete { id, reason } => remote("delete", id, Some(reason)),
        QueueCommand::Bounce { id, reason } => remote("bounce", id, Some(reason)),
    }
}

fn parse_state(s: &str) -> Result<EntryState> {
    serde_json::from_value(serde_json::Value::String(s.to_ascii_lowercase()))
        .with_context(|| format!("unknown state {s:?} (active, deferred, hold, done)"))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn entries(dir: &Path, filter: &ListFilter) -> Result<Vec<Result<QueueEntry, String>>> {
    let outbound = Outbound::open(dir).with_context(|| format!("opening {}", dir.display()))?;
    outbound
        .entries(filter, now())
        .with_context(|| format!("reading {}", dir.display()))
}

fn list(dir: &Path, filter: &ListFilter) -> Result<ExitCode> {
    let all = entries(dir, filter)?;
    let now = now();
    let mut broken = 0;
    for entry in &all {
        let Ok(e) = entry else {
            broken += 1;
            println!(
                "unreadable: {}",
                entry.as_ref().err().map_or("", String::as_str)
            );
            continue;
        };
        let m = &e.message;
        let from = if m.mail_from.is_empty() {
            "<>"
        } else {
            &m.mail_from
        };
        let state = format!("{:?}", e.entry_state()).to_ascii_lowercase();
        let age = human_age(now.saturating_sub(m.received_at));
        println!("{}  {state:8}  {age:>6}  {:>8}  {from}", m.id, m.size);
        for r in &e.state.recipients {
            let status = format!("{:?}", r.status).to_ascii_lowercase();
            let reply = r.last_reply.as_deref().unwrap_or("");
            println!(
                "    {status:9} {} (attempts {}) {reply}",
                r.rcpt, r.attempts
            );
        }
    }
    let unreadable = if broken > 0 {
        format!(", {broken} unreadable")
    } else {
        String::new()
    };
    println!("{} messages{unreadable}", all.len());
    Ok(if broken > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Geometric age buckets in minutes, as Postfix's qshape uses.
const BUCKETS: [u64; 9] = [5, 10, 20, 40, 80, 160, 320, 640, 1280];

fn shape(dir: &Path) -> Result<ExitCode> {
    let now = now();
    let mut rows: BTreeMap<String, [u64; 10]> = BTreeMap::new();
    let mut ages = Vec::new();
    for e in entries(dir, &ListFilter::default())?.into_iter().flatten() {
        let age = now.saturating_sub(e.message.received_at);
        let bucket = BUCKETS
            .iter()
            .position(|&m| age < m * 60)
            .unwrap_or(BUCKETS.len());
        for r in e
            .state
            .recipients
            .iter()
            .filter(|r| r.status == RecipientStatus::Pending)
        {
            let domain = r
                .rcpt
                .rsplit_once('@')
                .map_or("", |(_, d)| d)
                .to_ascii_lowercase();
            rows.entry(domain).or_default()[bucket] += 1;
            ages.push(age);
        }
    }
    print!("{:30} {:>6}", "domain", "total");
    for m in BUCKETS {
        print!(" {:>6}", format!("<{m}m"));
    }
    println!(" {:>6}", "more");
    let mut totals = [0u64; 10];
    let mut sorted: Vec<_> = rows.into_iter().collect();
    sorted.sort_by_key(|(_, counts)| std::cmp::Reverse(counts.iter().sum::<u64>()));
    for (domain, counts) in &sorted {
        print_row(domain, counts);
        totals.iter_mut().zip(counts).for_each(|(t, c)| *t += c);
    }
    print_row("TOTAL", &totals);
    ages.sort_unstable();
    let pct = |p: usize| {
        ages.get((ages.len().saturating_sub(1)) * p / 100)
            .copied()
            .unwrap_or(0)
    };
    println!(
        "age of pending recipients: P50 {}  P95 {}  max {}",
        human_age(pct(50)),
        human_age(pct(95)),
        human_age(ages.last().copied().unwrap_or(0))
    );
    Ok(ExitCode::SUCCESS)
}

fn print_row(name: &str, counts: &[u64; 10]) {
    print!("{name:30} {:>6}", counts.iter().sum::<u64>());
    for c in counts {
        print!(" {c:>6}");
    }
    println!();
}

fn human_age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

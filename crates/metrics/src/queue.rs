//! The queue's shape, from a scan of the outbound queue directory: depth, age percentiles
//! overall and for the top domains, and the bytes the spool occupies on disk.

use std::collections::HashMap;
use std::path::Path;

use calm_queue::outbound::{ListFilter, Outbound, QueueEntry};

use crate::labels::{OTHER, plain_domain};

/// How many recipient domains get their own label; the rest are summed as `other`.
pub const TOP_DOMAINS: usize = 10;

/// Age percentiles in seconds (nearest-rank; all zero for an empty set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AgeStats {
    /// Median age.
    pub p50: u64,
    /// 95th percentile age.
    pub p95: u64,
    /// Oldest.
    pub max: u64,
}

impl AgeStats {
    /// The percentiles of `ages` (any order).
    pub fn from_ages(mut ages: Vec<u64>) -> AgeStats {
        ages.sort_unstable();
        AgeStats {
            p50: nearest_rank(&ages, 50),
            p95: nearest_rank(&ages, 95),
            max: ages.last().copied().unwrap_or(0),
        }
    }
}

/// Nearest-rank percentile of sorted `ages`: the value at rank ⌈p/100 · n⌉.
fn nearest_rank(sorted: &[u64], p: usize) -> u64 {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or(0)
}

/// One recipient domain's share of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainStats {
    /// Lowercase domain, or `other` for everything outside the top [`TOP_DOMAINS`].
    pub domain: String,
    /// Pending recipients in that domain.
    pub pending: u64,
    /// Ages of the messages those recipients belong to (one sample per recipient).
    pub age: AgeStats,
}

/// The outbound queue at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueSnapshot {
    /// Messages in the queue (finished ones not yet removed included).
    pub messages: u64,
    /// Recipients still to deliver.
    pub pending_recipients: u64,
    /// Messages held by the operator.
    pub held: u64,
    /// Queue files that could not be read.
    pub unreadable: u64,
    /// Age of messages with at least one pending recipient.
    pub age: AgeStats,
    /// The top domains by pending recipients (descending), then `other` if anything is left.
    pub domains: Vec<DomainStats>,
    /// Bytes used by the files under the spool directory.
    pub spool_bytes: u64,
}

/// Scans the outbound queue at `outbound_dir` as of Unix time `now_unix`. `spool_bytes` counts
/// the files under `outbound_dir` itself; [`crate::serve`] replaces it with the whole spool.
/// A missing or unreadable directory gives an empty snapshot: metrics never fail the server.
pub fn scan_queue(outbound_dir: &Path, now_unix: u64) -> QueueSnapshot {
    // Outbound::open creates the directories; a metrics scan must not, so look first.
    if !outbound_dir.is_dir() {
        return QueueSnapshot::default();
    }
    let entries = Outbound::open(outbound_dir)
        .and_then(|q| q.entries(&ListFilter::default(), now_unix))
        .unwrap_or_default();
    let mut snap = QueueSnapshot {
        spool_bytes: disk_usage(outbound_dir),
        ..QueueSnapshot::default()
    };
    let mut ages = Vec::new();
    let mut by_domain: HashMap<String, Vec<u64>> = HashMap::new();
    for entry in &entries {
        let Ok(entry) = entry else {
            snap.unreadable += 1;
            continue;
        };
        snap.messages += 1;
        snap.held += u64::from(entry.state.held);
        let age = now_unix.saturating_sub(entry.message.received_at);
        let pending = add_pending(entry, age, &mut by_domain);
        snap.pending_recipients += pending;
        if pending > 0 {
            ages.push(age);
        }
    }
    snap.age = AgeStats::from_ages(ages);
    snap.domains = top_domains(by_domain);
    snap
}

/// Records the age of each pending recipient under its domain; returns how many there were.
fn add_pending(entry: &QueueEntry, age: u64, by_domain: &mut HashMap<String, Vec<u64>>) -> u64 {
    let mut n = 0;
    for r in entry.pending() {
        let domain = r
            .rcpt
            .rsplit_once('@')
            .and_then(|(_, d)| plain_domain(d))
            .unwrap_or_else(|| OTHER.to_string());
        by_domain.entry(domain).or_default().push(age);
        n += 1;
    }
    n
}

/// The [`TOP_DOMAINS`] domains with the most pending recipients (ties by name, so the choice is
/// stable between scans), and everything else merged as `other`.
fn top_domains(by_domain: HashMap<String, Vec<u64>>) -> Vec<DomainStats> {
    let mut all: Vec<(String, Vec<u64>)> = by_domain.into_iter().collect();
    all.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    let mut out = Vec::new();
    let mut rest = Vec::new();
    for (domain, ages) in all {
        if domain != OTHER && out.len() < TOP_DOMAINS {
            out.push(domain_stats(domain, ages));
        } else {
            rest.extend(ages);
        }
    }
    if !rest.is_empty() {
        out.push(domain_stats(OTHER.to_string(), rest));
    }
    out
}

fn domain_stats(domain: String, ages: Vec<u64>) -> DomainStats {
    DomainStats {
        domain,
        pending: ages.len() as u64,
        age: AgeStats::from_ages(ages),
    }
}

/// Sum of the sizes of regular files under `dir`, recursively; symbolic links are not
/// followed and unreadable entries count as zero (a file may vanish during the walk).
pub fn disk_usage(dir: &Path) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in rd.flatten() {
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                stack.push(entry.path());
            } else if ft.is_file() {
                total = total.saturating_add(entry.metadata().map(|m| m.len()).unwrap_or(0));
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(AgeStats::from_ages(vec![]), AgeStats::default());
        let one = AgeStats::from_ages(vec![7]);
        assert_eq!(
            one,
            AgeStats {
                p50: 7,
                p95: 7,
                max: 7
            }
        );
        // 1..=20: P50 is the 10th value, P95 the 19th.
        let twenty = AgeStats::from_ages((1..=20).rev().collect());
        assert_eq!(
            twenty,
            AgeStats {
                p50: 10,
                p95: 19,
                max: 20
            }
        );
        let two = AgeStats::from_ages(vec![100, 1]);
        assert_eq!(
            two,
            AgeStats {
                p50: 1,
                p95: 100,
                max: 100
            }
        );
    }

    #[test]
    fn top_domains_break_ties_by_name_and_merge_the_rest() {
        let mut by = HashMap::new();
        for i in 0..TOP_DOMAINS + 2 {
            by.insert(format!("d{i:02}.example"), vec![1]);
        }
        by.insert(OTHER.to_string(), vec![5, 6]);
        let top = top_domains(by);
        assert_eq!(top.len(), TOP_DOMAINS + 1);
        assert_eq!(top[0].domain, "d00.example");
        let other = top
            .last()
            .map(|d| (d.domain.as_str(), d.pending, d.age.max));
        assert_eq!(other, Some((OTHER, 4, 6)));
    }
}

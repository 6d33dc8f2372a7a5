//! Messages per second through the content part of the data stage: parse (mail-parser),
//! GTUBE, the content rules, the Bayes probability and the header rendering, on the labelled
//! corpus (real-looking spam and ham), single-threaded. clamd and SPF/DKIM/DMARC are network
//! round trips to other daemons and are not included here; `bench/content_bench.py` measures
//! the whole SMTP path with the pipeline on and off.
//!
//! ```text
//! cargo run --release -p calm-content --example pipeline_bench -- [SECONDS]
//! ```

use std::path::Path;
use std::time::{Duration, Instant};

use calm_content::{Bayes, Content, Label, Rules, score};

fn corpus(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for kind in ["spam", "ham"] {
        let Ok(entries) = std::fs::read_dir(dir.join(kind)) else {
            continue;
        };
        for e in entries.flatten() {
            if let Ok(raw) = std::fs::read(e.path()) {
                out.push(raw);
            }
        }
    }
    out
}

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let messages = corpus(&root.join("tests/corpus"));
    assert!(!messages.is_empty(), "no corpus");
    let rules = Rules::load(&root.join("../../policy/content.toml")).expect("content rules");
    let mut bayes = Bayes::new();
    for (i, raw) in messages.iter().enumerate() {
        let label = if i < messages.len() / 2 {
            Label::Spam
        } else {
            Label::Ham
        };
        bayes.train(label, &Content::parse(raw));
    }
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut n = 0u64;
    let mut checksum = 0.0;
    while Instant::now() < deadline {
        for raw in &messages {
            let content = Content::parse(raw);
            let mut report = score(&rules, &content);
            if let Some(p) = bayes.probability(&content) {
                report.add_bayes(&rules, p);
            }
            checksum += report.header_block(5.0).len() as f64 + report.total();
            n += 1;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{} messages (corpus of {}, {:.1} KiB average): {:.0} msg/s, {:.1} µs per message (checksum {checksum:.0})",
        n,
        messages.len(),
        bytes as f64 / messages.len() as f64 / 1024.0,
        n as f64 / elapsed,
        elapsed * 1e6 / n as f64
    );
}

//! Messages per second through the whole data stage, as calm runs it for each message: parse,
//! GTUBE, the content rules, Bayes, a clamd INSTREAM scan, and SPF/DKIM/DMARC/ARC verification
//! through a DNS resolver. clamd is Debian's, started here with an EICAR-only database (the
//! figure leaves out signature-matching cost of a full ClamAV database); DNS is an in-process
//! authoritative server on 127.0.0.1 with SPF, DKIM and DMARC records for the sender domain.
//! Half the corpus is DKIM-signed (Ed25519, key made here). `CONCURRENCY` messages are in
//! flight at once, as concurrent SMTP sessions would have them.
//!
//! Prints msg/s for each configuration in the same run: rules+Bayes alone, + clamd, + auth,
//! and everything, so the cost of each round trip shows.
//!
//! ```text
//! cargo run --release -p calm-content --example full_pipeline_bench -- [SECONDS] [CONCURRENCY]
//! ```

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use calm_content::testing::TestClamd;
use calm_content::{
    AuthSettings, Authenticator, Bayes, Content, Endpoint, Label, Rules, Scanner, Session, score,
};
use calm_dns::test_server::{TestDnsServer, Zone};
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter as _;
use mail_auth::dkim::DkimSigner;

struct Stage {
    rules: Rules,
    bayes: Bayes,
    scanner: Option<Scanner>,
    auth: Option<Authenticator>,
}

fn corpus(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for kind in ["spam", "ham"] {
        let Ok(entries) = std::fs::read_dir(dir.join(kind)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(p).expect("corpus file");
            out.push(
                text.replace("\r\n", "\n")
                    .replace('\n', "\r\n")
                    .into_bytes(),
            );
        }
    }
    out
}

/// Every message from `sender.example`; every other one DKIM-signed by it.
fn as_sent(messages: &[Vec<u8>], key: &[u8]) -> Vec<Vec<u8>> {
    let from = regex_from();
    messages
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            let text = String::from_utf8_lossy(raw);
            let text = from
                .replace(&text, "From: news@sender.example\r\n")
                .into_owned();
            if i % 2 == 1 {
                return text.into_bytes();
            }
            let signer = DkimSigner::from_key(Ed25519Key::from_pkcs8_der(key).expect("key"))
                .domain("sender.example")
                .selector("sel")
                .headers(["From", "To", "Subject", "Date", "Message-ID"]);
            let sig = signer.sign(text.as_bytes()).expect("sign");
            format!("{}{text}", sig.to_header()).into_bytes()
        })
        .collect()
}

fn regex_from() -> regex::Regex {
    regex::Regex::new(r"(?m)^From: [^\r\n]*\r\n").expect("regex")
}

async fn analyse(stage: &Stage, message: &[u8]) -> usize {
    let content = Content::parse(message);
    let mut report = score(&stage.rules, &content);
    if let Some(p) = stage.bayes.probability(&content) {
        report.add_bayes(&stage.rules, p);
    }
    let mut out = report.header_block(5.0).len();
    let scan = async {
        match &stage.scanner {
            Some(s) => matches!(s.scan(message).await, calm_content::ScanResult::Clean) as usize,
            None => 0,
        }
    };
    let auth = async {
        let session = Session {
            client: IpAddr::from([127, 0, 0, 1]),
            helo: "mail.sender.example",
            mail_from: "news@sender.example",
        };
        match &stage.auth {
            Some(a) => a.verify(session, message).await.header_value.len(),
            None => 0,
        }
    };
    let (scanned, authenticated) = tokio::join!(scan, auth);
    out += scanned + authenticated;
    out
}

async fn run(stage: Arc<Stage>, messages: Arc<Vec<Vec<u8>>>, secs: u64, conc: usize) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let tasks: Vec<_> = (0..conc)
        .map(|t| {
            let (stage, messages) = (stage.clone(), messages.clone());
            tokio::spawn(async move {
                let mut n = 0u64;
                let mut i = t;
                while Instant::now() < deadline {
                    std::hint::black_box(analyse(&stage, &messages[i % messages.len()]).await);
                    i += 1;
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("task");
    }
    total as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let conc: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(8);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let plain = corpus(&root.join("tests/corpus"));
    let rules = Rules::load(&root.join("../../policy/content.toml")).expect("content rules");
    let mut bayes = Bayes::new();
    for (i, raw) in plain.iter().enumerate() {
        let label = if i < plain.len() / 2 {
            Label::Spam
        } else {
            Label::Ham
        };
        bayes.train(label, &Content::parse(raw));
    }

    let key = Ed25519Key::generate_pkcs8().expect("key");
    let public = Ed25519Key::from_pkcs8_der(&key).expect("key").public_key();
    let p = base64::engine::general_purpose::STANDARD.encode(public);
    let zone = Zone::new("example")
        .txt("sender.example", "v=spf1 ip4:127.0.0.1 -all")
        .txt("_dmarc.sender.example", "v=DMARC1; p=quarantine")
        .txt(
            "sel._domainkey.sender.example",
            &format!("v=DKIM1; k=ed25519; p={p}"),
        )
        .a("mail.sender.example", [127, 0, 0, 1].into());
    let dns = TestDnsServer::start(vec![zone]).await.expect("test DNS");
    let clamd = TestClamd::start();
    let messages = Arc::new(as_sent(&plain, &key));
    let avg = messages.iter().map(Vec::len).sum::<usize>() as f64 / messages.len() as f64;
    println!(
        "{} messages, {:.1} KiB average, {conc} in flight, {secs} s per configuration",
        messages.len(),
        avg / 1024.0
    );

    let scanner = || Some(Scanner::new(Endpoint::Tcp(clamd.tcp())));
    let auth = || {
        Some(
            Authenticator::new(&AuthSettings {
                upstream: Some(dns.addr()),
                timeout: Duration::from_secs(2),
                attempts: 1,
                hostname: "mx.example.test".into(),
            })
            .expect("authenticator"),
        )
    };
    let configs: [(&str, bool, bool); 4] = [
        ("rules + Bayes", false, false),
        ("+ clamd", true, false),
        ("+ SPF/DKIM/DMARC/ARC", false, true),
        ("full pipeline", true, true),
    ];
    for (name, with_scan, with_auth) in configs {
        let stage = Arc::new(Stage {
            rules: rules.clone(),
            bayes: bayes.clone(),
            scanner: if with_scan { scanner() } else { None },
            auth: if with_auth { auth() } else { None },
        });
        let rate = run(stage, messages.clone(), secs, conc).await;
        println!(
            "{name:<24} {rate:>9.0} msg/s  ({:.0} µs per message)",
            1e6 / rate
        );
    }
}

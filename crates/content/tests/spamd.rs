//! The spamd client against a real spamd (Debian packages `spamassassin` and `spamd`),
//! started by the test on a loopback port with the packaged rules and no network tests.

use std::time::Duration;

use calm_content::testing::TestSpamd;
use calm_content::{Endpoint, Spamd, SpamdResult, gtube_string};

fn mail(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Alice <alice@example.org>\r\nTo: bob@example.test\r\nSubject: {subject}\r\n\
         Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nMessage-ID: <m1@example.org>\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn real_spamd_scores_gtube_as_spam_and_a_lunch_note_as_ham() {
    let spamd = TestSpamd::start();
    let client = Spamd::new(Endpoint::Tcp(spamd.tcp())).with_timeout(Duration::from_secs(60));
    match client.check(&mail("test", &gtube_string())).await {
        SpamdResult::Scored {
            score,
            threshold,
            symbols,
        } => {
            assert!(score >= 1000.0 && threshold == 5.0, "{score} / {threshold}");
            assert!(symbols.iter().any(|s| s == "GTUBE"), "{symbols:?}");
        }
        other => panic!("{other:?}"),
    }
    match client
        .check(&mail("lunch", "Shall we meet at noon? Bob"))
        .await
    {
        SpamdResult::Scored { score, .. } => assert!(score < 5.0, "{score}"),
        other => panic!("{other:?}"),
    }
    let big = vec![b'a'; calm_content::SPAMD_MAX_MESSAGE + 1];
    assert!(matches!(client.check(&big).await, SpamdResult::Skipped(_)));
}

#[tokio::test]
async fn stopped_spamd_is_unavailable() {
    let spamd = TestSpamd::start();
    let addr = spamd.tcp();
    drop(spamd);
    let client = Spamd::new(Endpoint::Tcp(addr)).with_timeout(Duration::from_secs(5));
    match client.check(&mail("x", "y")).await {
        SpamdResult::Unavailable(why) => assert!(why.starts_with("spamd"), "{why}"),
        other => panic!("{other:?}"),
    }
}

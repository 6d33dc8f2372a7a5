use std::path::Path;

use super::*;

const RULES: &str = r#"
[[rule]]
name = "SUBJ_WIN"
description = "Subject says win"
header = "Subject"
pattern = '\bwin\b'
score = 2.0

[[rule]]
name = "NO_DATE"
header = "Date"
missing = true
score = 1.0

[[rule]]
name = "PILLS"
description = "pills\r\nX-Injected: yes"
body = 'pills'
score = 1.5

[[rule]]
name = "IP_URL"
url = '^http://\d+\.\d+\.\d+\.\d+'
score = 1.0

[[rule]]
name = "EXE"
attachment = '\.exe$'
score = 3.0

[[rule]]
name = "NICE"
body = 'thank you'
score = -1.0

[[bayes]]
name = "BAYES_99"
min = 0.99
score = 3.5
"#;

fn rules() -> Rules {
    Rules::from_text(Path::new("t.toml"), RULES).unwrap()
}

#[test]
fn each_rule_fires_once_with_its_points() {
    let c = Content::parse(
        b"Subject: WIN now, win!\r\n\r\npills pills pills at http://192.0.2.1/x and http://192.0.2.2/\r\n",
    );
    let r = score(&rules(), &c);
    let fired: Vec<(&str, f64)> = r.hits.iter().map(|h| (h.name.as_str(), h.points)).collect();
    assert_eq!(
        fired,
        [
            ("SUBJ_WIN", 2.0),
            ("NO_DATE", 1.0),
            ("PILLS", 1.5),
            ("IP_URL", 1.0)
        ]
    );
    assert_eq!(r.total(), 5.5);
    assert!(!r.gtube);
    assert_eq!(r.top_hit().map(|h| h.name.as_str()), Some("SUBJ_WIN"));
}

#[test]
fn negative_rules_and_attachments() {
    let c = Content::parse(
        b"Date: Sun, 29 Nov 2026 10:00:00 +0000\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nThank you!\r\n\
--b\r\nContent-Type: application/x-msdownload; name=setup.EXE\r\n\r\nMZ\r\n--b--\r\n",
    );
    let r = score(&rules(), &c);
    let names: Vec<&str> = r.hits.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["EXE", "NICE"]);
    assert_eq!(r.total(), 2.0);
}

#[test]
fn gtube_scores_and_is_flagged_even_in_base64() {
    let plain = format!("Subject: t\r\n\r\n{}\r\n", crate::gtube_string());
    let r = score(&Rules::empty(), &Content::parse(plain.as_bytes()));
    assert!(r.gtube);
    assert_eq!(r.total(), 1000.0);
    // base64 of the GTUBE string, so the raw bytes do not contain it
    let b64 = "WEpTKkM0SkRCUUFETjEuTlNCTjMqMklETkVOKkdUVUJFLVNUQU5EQVJELUFOVEktVUJFLVRFU1QtRU1BSUwqQy4zNFg=";
    let msg = format!("Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n");
    assert!(!crate::contains_gtube(msg.as_bytes()));
    assert!(score(&Rules::empty(), &Content::parse(msg.as_bytes())).gtube);
    let almost = "Subject: t\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD\r\n";
    assert!(!score(&Rules::empty(), &Content::parse(almost.as_bytes())).gtube);
}

#[test]
fn headers_render_every_hit_and_cannot_be_injected() {
    let c = Content::parse(b"Subject: win\r\n\r\npills\r\n");
    let mut r = score(&rules(), &c);
    r.add_bayes(&rules(), 0.995);
    r.add_bayes(&rules(), 0.5);
    let h = r.headers(5.0);
    assert_eq!(h[0], ("X-Spam-Score", "8.0".to_owned()));
    assert_eq!(
        h[1].1,
        "Yes, score=8.0 required=5.0 tests=SUBJ_WIN,NO_DATE,PILLS,BAYES_99"
    );
    assert_eq!(
        h[2].1,
        "score=8.0\r\n\t*   2.0 SUBJ_WIN Subject says win\r\n\t*   1.0 NO_DATE \
         \r\n\t*   1.5 PILLS pills  X-Injected: yes\r\n\t*   3.5 BAYES_99 Bayesian spam probability is 0.995"
    );
    let block = r.header_block(10.0);
    assert!(block.contains("X-Spam-Status: No, score=8.0 required=10.0"));
    // every line of the block is a header or a folded continuation
    for line in block.split("\r\n").filter(|l| !l.is_empty()) {
        assert!(
            line.starts_with("X-Spam-") || line.starts_with('\t'),
            "{line:?}"
        );
    }
    let empty = ScoreReport::default();
    assert_eq!(
        empty.headers(5.0)[1].1,
        "No, score=0.0 required=5.0 tests=none"
    );
    assert_eq!(empty.top_hit(), None);
}

//! The data stage's parsers of hostile input: a message (mail-parser through `Content::parse`,
//! the content rules, the spam report's original), and the answers of clamd and spamd. None
//! may panic; what they produce stays within its documented bounds.
#![no_main]

use calm_content::{
    Content, MAX_BODY_TEXT, MAX_URLS, SpamdResult, forwarded_original, parse_reply,
    parse_spamd_reply,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let content = Content::parse(data);
    assert!(content.urls.len() <= MAX_URLS);
    // Text is cut at a character boundary past the limit, never far past it.
    assert!(content.body.len() <= MAX_BODY_TEXT + 8);
    let original = forwarded_original(data);
    let _ = Content::parse(&original);
    if let SpamdResult::Scored { score, threshold, symbols } = parse_spamd_reply(data) {
        assert!(score.is_finite() && threshold.is_finite());
        assert!(symbols.len() <= 100);
    }
    let _ = parse_reply(&String::from_utf8_lossy(data));
});

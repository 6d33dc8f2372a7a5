//! Message bytes through FETCH's section cutting, BINARY decoding, ENVELOPE and
//! BODYSTRUCTURE: nothing panics and the structures stay balanced.
#![no_main]

use calm_imap_proto::message::{self, structure};
use calm_imap_proto::{Section, SectionText};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let texts = [
        None,
        Some(SectionText::Header),
        Some(SectionText::Text),
        Some(SectionText::Mime),
        Some(SectionText::HeaderFields(vec!["Subject".into()])),
    ];
    for part in [vec![], vec![1], vec![2, 1], vec![1, 1, 1]] {
        for text in &texts {
            let section = Section {
                part: part.clone(),
                text: text.clone(),
            };
            let _ = message::section(data, &section);
        }
        let _ = message::binary(data, &part);
    }
    let mut out = Vec::new();
    structure::envelope(&mut out, data);
    structure::body_structure(&mut out, data, true);
});

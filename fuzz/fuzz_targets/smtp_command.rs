//! Command lines and addresses: parsing never panics, and whatever parses displays to text
//! that parses back to the same value (parse → display → parse).
#![no_main]

use calm_mail_types::Address;
use calm_smtp_proto::{Command, LineReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Command::parse(data) {
        Ok(cmd) => {
            let text = cmd.to_string();
            let again = Command::parse(text.as_bytes());
            assert_eq!(
                again.as_ref(),
                Ok(&cmd),
                "display form {text:?} does not parse back"
            );
        }
        // Every syntax error maps to exactly one well-formed reply line.
        Err(e) => {
            let wire = e.reply().to_string();
            assert_eq!(wire.matches("\r\n").count(), 1, "{wire:?}");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for utf8 in [false, true] {
            if let Ok(a) = Address::parse(text, utf8) {
                assert_eq!(Address::parse(&a.to_string(), utf8), Ok(a.clone()), "{a}");
                assert!(!a.domain().ends_with('.'));
            }
        }
    }
    // Framing: every line handed out is free of CR and LF.
    let mut lines = LineReader::default();
    lines.push(data);
    while let Some(line) = lines.next_line() {
        if let Ok(line) = line {
            assert!(!line.contains(&b'\r') && !line.contains(&b'\n'));
        }
    }
});

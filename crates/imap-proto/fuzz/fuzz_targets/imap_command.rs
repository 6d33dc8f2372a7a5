//! Client bytes through the framer and the parser: nothing panics, frames respect the
//! limits, and whatever the framer hands out ends its line.
#![no_main]

use calm_imap_proto::{Frame, Framer, Limits, parse_command_with};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte: the size of the reads the bytes arrive in.
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        max_line: 512,
        max_literal: 1024,
        max_command: 2048,
    };
    let mut framer = Framer::new(limits);
    for piece in rest.chunks(usize::from(first % 64) + 1) {
        framer.push(piece);
        while let Some(frame) = framer.next_frame() {
            if let Frame::Command(command) = frame {
                assert!(command.len() <= limits.max_command + limits.max_line);
                assert!(command.ends_with(b"\n"));
                for utf8 in [false, true] {
                    let _ = parse_command_with(&command, utf8);
                }
            }
        }
    }
});

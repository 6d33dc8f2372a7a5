use super::*;
use proptest::prelude::*;

fn decode_all(input: &[u8]) -> (Result<DataStatus, DataError>, Vec<u8>) {
    let mut out = Vec::new();
    let r = DataDecoder::new().decode(input, Some(&mut out));
    (r, out)
}

#[test]
fn simple_message_and_trailing_bytes() {
    let input = b"Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n";
    let (r, out) = decode_all(input);
    assert_eq!(
        r,
        Ok(DataStatus::Done {
            consumed: input.len() - 6
        })
    );
    assert_eq!(out, b"Subject: hi\r\n\r\nbody\r\n");
}

#[test]
fn empty_message() {
    assert_eq!(
        decode_all(b".\r\n"),
        (Ok(DataStatus::Done { consumed: 3 }), vec![])
    );
}

#[test]
fn dot_unstuffing() {
    let (r, out) = decode_all(b"..\r\n..x\r\n.y\r\na.b\r\n.\r\n");
    assert!(matches!(r, Ok(DataStatus::Done { .. })));
    assert_eq!(out, b".\r\n.x\r\ny\r\na.b\r\n");
}

#[test]
fn split_anywhere_gives_same_result() {
    let input = b"a\r\n..b\r\n.\r\n";
    let (whole, expect) = decode_all(input);
    assert!(matches!(whole, Ok(DataStatus::Done { .. })));
    for split in 0..input.len() {
        let mut d = DataDecoder::new();
        let mut out = Vec::new();
        let (a, b) = input.split_at(split);
        let first = d.decode(a, Some(&mut out)).unwrap();
        if first == DataStatus::NeedMore {
            assert_eq!(
                d.decode(b, Some(&mut out)),
                Ok(DataStatus::Done { consumed: b.len() })
            );
        }
        assert_eq!(out, expect, "split at {split}");
    }
}

/// The SMTP smuggling sequences: none may end the message; each is an error.
#[test]
fn smuggling_sequences_are_errors() {
    let cases: [(&[u8], DataError); 6] = [
        (b"x\n.\nMAIL FROM:<a@b>\r\n", DataError::BareLf),
        (b"x\n.\r\nMAIL FROM:<a@b>\r\n", DataError::BareLf),
        (b"x\r\n.\nMAIL FROM:<a@b>\r\n", DataError::BareLf),
        (b"x\r.\rMAIL FROM:<a@b>\r\n", DataError::BareCr),
        (b"x\r\n.\r.\r\n", DataError::BareCr),
        (b"x\r\r\n.\r\n", DataError::BareCr),
    ];
    for (input, err) in cases {
        assert_eq!(
            decode_all(input).0,
            Err(err),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn bare_cr_across_chunks() {
    let mut d = DataDecoder::new();
    assert_eq!(d.decode(b"x\r", None), Ok(DataStatus::NeedMore));
    assert_eq!(d.decode(b".\r\n", None), Err(DataError::BareCr));
}

#[test]
fn long_lines_are_noted_not_fatal() {
    let mut input = vec![b'a'; 998];
    input.extend_from_slice(b"\r\n.\r\n");
    let mut d = DataDecoder::new();
    assert!(matches!(
        d.decode(&input, None),
        Ok(DataStatus::Done { .. })
    ));
    assert!(!d.saw_long_line(), "998 + CRLF is the maximum");

    let mut input = vec![b'a'; 999];
    input.extend_from_slice(b"\r\n.\r\n");
    let mut d = DataDecoder::new();
    assert!(matches!(
        d.decode(&input, None),
        Ok(DataStatus::Done { .. })
    ));
    assert!(d.saw_long_line());

    // A stuffed dot counts towards the wire length.
    let mut input = vec![b'.'; 999];
    input.extend_from_slice(b"\r\n.\r\n");
    let mut d = DataDecoder::new();
    assert!(matches!(
        d.decode(&input, None),
        Ok(DataStatus::Done { .. })
    ));
    assert!(d.saw_long_line());
}

#[test]
fn size_counts_without_storing() {
    let mut d = DataDecoder::new();
    assert_eq!(
        d.decode(b"abc\r\n..\r\n.\r\n", None),
        Ok(DataStatus::Done { consumed: 12 })
    );
    assert_eq!(d.size(), 8);
}

#[test]
fn dot_stuff_examples() {
    assert_eq!(dot_stuff(b""), b".\r\n");
    assert_eq!(dot_stuff(b".\r\n"), b"..\r\n.\r\n");
    assert_eq!(dot_stuff(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
    assert_eq!(dot_stuff(b"no newline"), b"no newline\r\n.\r\n");
}

/// Bodies with CRLF line ends only (the only kind we accept).
fn crlf_body() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        proptest::collection::vec(
            prop_oneof![Just(b'.'), Just(b'a'), Just(0u8), Just(0xffu8), 32u8..127],
            0..20,
        ),
        0..10,
    )
    .prop_map(|lines| {
        let mut body = Vec::new();
        for l in lines {
            body.extend_from_slice(&l);
            body.extend_from_slice(b"\r\n");
        }
        body
    })
}

proptest! {
    #[test]
    fn stuff_then_decode_round_trips(body in crlf_body(), chunk in 1usize..7) {
        let wire = dot_stuff(&body);
        let mut d = DataDecoder::new();
        let mut out = Vec::new();
        let mut done = false;
        for piece in wire.chunks(chunk) {
            prop_assert!(!done, "bytes after the end marker");
            if let DataStatus::Done { consumed } = d.decode(piece, Some(&mut out)).unwrap() {
                prop_assert_eq!(consumed, piece.len());
                done = true;
            }
        }
        prop_assert!(done);
        prop_assert_eq!(out, body);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_never_end_on_bare_newlines(input in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut out = Vec::new();
        if let Ok(DataStatus::Done { consumed }) = DataDecoder::new().decode(&input, Some(&mut out)) {
            let used = &input[..consumed];
            prop_assert!(used.ends_with(b".\r\n"));
            // Every LF consumed was preceded by CR, and every CR followed by LF.
            for (i, &b) in used.iter().enumerate() {
                if b == b'\n' { prop_assert_eq!(i.checked_sub(1).map(|j| used[j]), Some(b'\r')); }
                if b == b'\r' { prop_assert_eq!(used.get(i + 1), Some(&b'\n')); }
            }
        }
    }
}

use super::*;

const MSG: &[u8] = b"From: Bob <bob@example.test>\r\nSubject: hello\r\n  world\r\nTo: a@example.test\r\n\r\nbody line\r\n";

#[test]
fn splits_header_and_body() {
    let (h, b) = split(MSG);
    assert!(h.ends_with(b"world\r\nTo: a@example.test\r\n\r\n"));
    assert_eq!(b, b"body line\r\n");
    assert_eq!(split(b"X: y\r\n"), (&b"X: y\r\n"[..], &b""[..]));
}

#[test]
fn header_fields_and_values() {
    let (h, _) = split(MSG);
    let names = vec!["subject".to_owned(), "TO".to_owned()];
    assert_eq!(
        header_fields(h, &names, true),
        b"Subject: hello\r\n  world\r\nTo: a@example.test\r\n\r\n"
    );
    assert_eq!(
        header_fields(h, &names, false),
        b"From: Bob <bob@example.test>\r\n\r\n"
    );
    assert_eq!(header_values(h, "Subject"), ["hello  world"]);
}

#[test]
fn sections_and_partials() {
    let text = Section {
        part: vec![],
        text: Some(SectionText::Text),
    };
    assert_eq!(section(MSG, &text).unwrap(), b"body line\r\n");
    let one = Section {
        part: vec![1],
        text: None,
    };
    assert_eq!(section(MSG, &one).unwrap(), b"body line\r\n");
    assert_eq!(partial(b"abcdef", 2, 3), b"cde");
    assert_eq!(partial(b"abcdef", 9, 3), b"");
    assert_eq!(partial(b"abcdef", 4, u32::MAX), b"ef");
}

#[test]
fn multipart_parts() {
    let msg = b"Content-Type: multipart/mixed; boundary=xx\r\n\r\n--xx\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--xx\r\nContent-Type: text/html\r\n\r\n<b>second</b>\r\n--xx--\r\n";
    let part = |n: u32, text| {
        section(
            msg,
            &Section {
                part: vec![n],
                text,
            },
        )
    };
    assert_eq!(part(1, None).unwrap(), b"first");
    assert_eq!(part(2, None).unwrap(), b"<b>second</b>");
    assert_eq!(
        part(2, Some(SectionText::Mime)).unwrap(),
        b"Content-Type: text/html\r\n\r\n"
    );
    assert_eq!(part(3, None), None);
}

#[test]
fn case_insensitive_contains() {
    assert!(contains_ci(b"Hello World", b"wORLD"));
    assert!(!contains_ci(b"Hello", b"Help"));
    assert!(contains_ci(b"", b""));
}

#[test]
fn binary_undoes_transfer_encodings() {
    let msg = b"Content-Type: multipart/mixed; boundary=xx\r\n\r\n--xx\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nna=3Dve\r\n--xx\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n/w==\r\n--xx\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n--xx--\r\n";
    assert_eq!(
        binary(msg, &[1]).unwrap().unwrap(),
        "caf\u{e9} na=ve".as_bytes()
    );
    assert_eq!(binary(msg, &[2]).unwrap().unwrap(), [0, 1, 2, 255]);
    assert_eq!(binary(msg, &[3]), Err(UnknownCte));
    assert_eq!(binary(msg, &[4]), Ok(None));
    assert_eq!(binary(msg, &[]).unwrap().unwrap(), msg);
    assert_eq!(decode_qp(b"a=\nb=zz="), b"ab=zz=");
    assert_eq!(decode_base64(b"QUJD\r\nRA"), b"ABCD");
}

#[test]
fn nested_message_parts() {
    let msg = b"Content-Type: multipart/mixed; boundary=xx\r\n\r\n--xx\r\nContent-Type: text/plain\r\n\r\nouter\r\n--xx\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: a@example.test\r\n\r\ninner body\r\n--xx--\r\n";
    let header = Section {
        part: vec![2],
        text: Some(SectionText::Header),
    };
    assert_eq!(
        section(msg, &header).unwrap(),
        b"Subject: inner\r\nFrom: a@example.test\r\n\r\n"
    );
    let text = Section {
        part: vec![2],
        text: Some(SectionText::Text),
    };
    assert_eq!(section(msg, &text).unwrap(), b"inner body");
    let mut out = Vec::new();
    structure::body_structure(&mut out, msg, false);
    let bs = String::from_utf8(out).unwrap();
    assert!(
        bs.contains("(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" ")
            && bs.contains("(NIL \"inner\" ((NIL NIL \"a\" \"example.test\"))"),
        "{bs}"
    );
}

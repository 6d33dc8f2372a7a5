use super::*;

#[test]
fn headers_bodies_urls_and_attachments() {
    let raw = b"From: =?utf-8?q?J=C3=BCrgen?= <j@example.test>\r\n\
Subject: =?utf-8?b?SGVsbG8gd29ybGQ=?=\r\n\
X-Folded: one\r\n two\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
Caf=C3=A9 at https://example.test/menu, or www.other.example.\r\n\
--b\r\nContent-Type: text/html\r\n\r\n<p><a href=\"http://html.example/x\">x</a></p>\r\n\
--b\r\nContent-Type: application/octet-stream; name=\"run.exe\"\r\n\
Content-Disposition: attachment; filename=\"run.exe\"\r\n\r\nMZ\r\n--b--\r\n";
    let c = Content::parse(raw);
    assert_eq!(c.header("subject").collect::<Vec<_>>(), ["Hello world"]);
    assert_eq!(c.header("From").next(), Some("\"Jürgen\" <j@example.test>"));
    assert_eq!(c.header("X-Folded").next(), Some("one two"));
    assert!(c.body.contains("Café"), "{:?}", c.body);
    assert!(
        c.urls.contains(&"https://example.test/menu".to_owned()),
        "{:?}",
        c.urls
    );
    assert!(
        c.urls.contains(&"www.other.example".to_owned()),
        "{:?}",
        c.urls
    );
    assert!(
        c.urls.contains(&"http://html.example/x".to_owned()),
        "{:?}",
        c.urls
    );
    assert_eq!(c.attachments, ["run.exe"]);
    assert!(!c.gtube);
}

#[test]
fn hostile_input_never_panics() {
    for raw in [
        &b""[..],
        b"\r\n\r\n",
        b"Subject",
        b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n--",
        b"\xff\xfe\x00Subject: \xff\r\n\r\n\xc3",
        b"Subject: =?utf-8?b?????\r\n\r\nhttp://",
    ] {
        let c = Content::parse(raw);
        let _ = c.classifier_text();
    }
}

#[test]
fn body_text_is_capped_on_a_char_boundary() {
    let mut raw = b"Subject: big\r\n\r\n".to_vec();
    raw.extend("é".repeat(MAX_BODY_TEXT).as_bytes());
    let c = Content::parse(&raw);
    assert!(c.body.len() <= MAX_BODY_TEXT);
    assert!(c.body.len() > MAX_BODY_TEXT - 4);
}

#[test]
fn urls_stop_at_delimiters_and_are_bounded() {
    assert_eq!(
        find_urls("see <http://a.example/x>, (https://b.example/y). \"www.c.example\""),
        ["http://a.example/x", "https://b.example/y", "www.c.example"]
    );
    assert!(find_urls("http:// https://").is_empty());
    let many = "http://x.example/1 ".repeat(10).to_string()
        + &(0..2 * MAX_URLS)
            .map(|i| format!("http://h{i}.example "))
            .collect::<String>();
    assert_eq!(find_urls(&many).len(), MAX_URLS);
}

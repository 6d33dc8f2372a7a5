//! GTUBE, the Generic Test for Unsolicited Bulk Email: a fixed string that every spam filter
//! treats as certain spam, so that operators can test their set-up end to end
//! (<https://spamassassin.apache.org/gtube/>).

/// The GTUBE string, built from two halves so that this source file is not itself "spam".
const GTUBE: [&str; 2] = [
    "XJS*C4JDBQADN1.NSBN3*2IDNEN*",
    "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X",
];

/// The whole GTUBE string.
pub fn gtube_string() -> String {
    GTUBE.concat()
}

/// Whether `raw` (a message, or any text) contains the GTUBE string. Looks at the raw bytes, so
/// it also finds GTUBE in a part the parser could not decode; the string is plain ASCII and
/// survives 7bit, 8bit and quoted-printable transfer encodings unchanged except for `=`, which
/// it does not contain.
pub fn contains_gtube(raw: &[u8]) -> bool {
    let needle = gtube_string();
    raw.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Whether a message is the GTUBE test: its raw bytes or its decoded text (base64 parts)
/// contain the string.
pub fn is_gtube(content: &crate::Content) -> bool {
    content.gtube || content.body.contains(&gtube_string())
}

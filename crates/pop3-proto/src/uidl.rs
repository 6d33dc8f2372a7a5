//! UIDL values (RFC 1939 §7) derived from the Maildir base name.

/// RFC 1939 §7: "one to 70 characters in the range 0x21 to 0x7E".
const MAX_UIDL: usize = 70;

/// The unique-id of a message whose Maildir base name is `base`.
///
/// The classic Maildir unique name, `time.unique.host` (the base without Dovecot's `,S=` and
/// `,W=` size fields), when it fits RFC 1939 §7: it is stable for the message's life and
/// recognisable next to what IMAP and the file system show. Otherwise (long host names,
/// foreign file names) the digest from [`uidl_digest`].
pub fn uidl_for(base: &str) -> String {
    let unique = base.split(',').next().unwrap_or(base);
    let valid = (1..=MAX_UIDL).contains(&unique.len())
        && unique.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if valid {
        unique.to_owned()
    } else {
        uidl_digest(base)
    }
}

/// A stable 128-bit digest of the whole base name, `calm-` + 32 hex digits: always a valid
/// UIDL. Also the fallback when two bases share a unique name (only foreign or hostile files
/// do), so UIDLs stay unique within a maildrop.
pub fn uidl_digest(base: &str) -> String {
    // Two FNV-1a passes with different offsets: stable across Rust releases (unlike std's
    // hashers) and collision-resistant enough among one mailbox's messages.
    let a = fnv1a(base.as_bytes(), 0xcbf2_9ce4_8422_2325);
    let b = fnv1a(base.as_bytes(), 0x6c62_272e_07bb_0142);
    format!("calm-{a:016x}{b:016x}")
}

fn fnv1a(bytes: &[u8], offset: u64) -> u64 {
    bytes.iter().fold(offset, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unique_name_without_size_fields_is_used() {
        // A calm delivery name: 19-character queue id, 16 hex digits, host, size.
        let base = "1700000000.Q0123456789abcdefghiU0123456789abcdef.mx.example.test,S=123456";
        assert_eq!(
            uidl_for(base),
            "1700000000.Q0123456789abcdefghiU0123456789abcdef.mx.example.test"
        );
        assert_eq!(
            uidl_for("1276528487.M364837P9451.kurkku,S=1355,W=1394"),
            "1276528487.M364837P9451.kurkku"
        );
        assert_eq!(uidl_for("plain"), "plain");
    }

    #[test]
    fn long_or_unprintable_bases_are_digested_stably() {
        let long = format!("1700000000.Qx.{},S=1", "h".repeat(80));
        for base in [long.as_str(), "with space", "caf\u{e9}", "", ",S=1"] {
            let uidl = uidl_for(base);
            assert_eq!(uidl, uidl_for(base));
            assert!(uidl.starts_with("calm-") && uidl.len() == 37, "{uidl}");
        }
        assert_ne!(uidl_for("with space"), uidl_for("with  space"));
        assert_ne!(uidl_digest("a,S=1"), uidl_digest("a,S=2"));
    }
}

//! UIDL values (RFC 1939 §7) derived from the Maildir base name.

/// RFC 1939 §7: "one to 70 characters in the range 0x21 to 0x7E".
const MAX_UIDL: usize = 70;

/// The unique-id of a message whose Maildir base name is `base`.
///
/// The base name itself when it fits RFC 1939 §7 (it is stable for the message's life and is
/// what IMAP sees too), otherwise a 128-bit digest of it, `calm-` + 32 hex digits: long host
/// names or foreign file names must not produce an invalid UIDL, and the digest is as stable
/// as the name.
pub fn uidl_for(base: &str) -> String {
    let valid =
        (1..=MAX_UIDL).contains(&base.len()) && base.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if valid {
        return base.to_owned();
    }
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
    fn short_printable_bases_are_used_as_they_are() {
        let base = "1700000000.Q0123U0123456789abcdef.mx,S=123";
        assert_eq!(uidl_for(base), base);
    }

    #[test]
    fn long_or_unprintable_bases_are_digested_stably() {
        let long = format!("1700000000.Qx.{},S=1", "h".repeat(80));
        for base in [long.as_str(), "with space", "caf\u{e9}", ""] {
            let uidl = uidl_for(base);
            assert_eq!(uidl, uidl_for(base));
            assert!(uidl.starts_with("calm-") && uidl.len() == 37, "{uidl}");
        }
        assert_ne!(uidl_for("with space"), uidl_for("with  space"));
    }
}

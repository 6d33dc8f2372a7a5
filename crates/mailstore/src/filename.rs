//! Maildir file names: `BASE[:INFO]`, the `,S=`/`,W=` size fields inside BASE, and fresh
//! unique names for messages the store writes itself (APPEND, COPY).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Splits a file name into its base and its info (the text after the first `:`).
/// The base is the message's identity: it never changes while the message lives, only the
/// info does (maildir spec: readers rename `new/BASE` to `cur/BASE:2,FLAGS`).
pub(crate) fn split(name: &str) -> (&str, Option<&str>) {
    match name.split_once(':') {
        Some((base, info)) => (base, Some(info)),
        None => (name, None),
    }
}

/// A `,KEY=digits` field of the base, e.g. Dovecot's `,S=` (file size) and `,W=` (size with
/// CRLF line ends, i.e. RFC822.SIZE).
pub(crate) fn size_field(base: &str, key: char) -> Option<u64> {
    base.split(',').skip(1).find_map(|field| {
        let value = field.strip_prefix(key)?.strip_prefix('=')?;
        if value.is_empty() || value.len() > 19 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        value.parse().ok()
    })
}

/// True for names a reader should consider as messages: not hidden (`.`-prefixed names are
/// temporary or control files by Maildir convention), non-empty base, no path separator.
pub(crate) fn is_message_name(name: &str) -> bool {
    let (base, _) = split(name);
    !name.starts_with('.') && !base.is_empty() && !name.contains('/') && !name.contains('\0')
}

/// A new unique base name `SECS.MmicrosPpidQcounterRrandom.HOST,S=size,W=vsize`.
///
/// The `M`/`P`/`Q`/`R` parts follow the maildir spec's advice to combine time, process id and
/// a per-process counter; the random part guards against pid reuse across containers sharing
/// a volume. Carrying `,S=` and `,W=` lets Dovecot (and calm) skip reading the file for sizes.
pub(crate) fn unique_base(size: u64, vsize: u64) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{}.M{}P{}Q{}R{:08x}.{},S={size},W={vsize}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>(),
        hostname(),
    )
}

/// The host part of new names, with `/` and `:` escaped as the maildir spec asks.
fn hostname() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let clean: String = raw
            .trim()
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .collect::<String>()
            .replace('/', "\\057")
            .replace(':', "\\072")
            .replace(',', "\\054");
        if clean.is_empty() {
            "localhost".to_owned()
        } else {
            clean
        }
    })
}

/// The size a message has on the wire with CRLF line ends: every LF not preceded by CR counts
/// one more octet. `prev_cr` carries the state across chunks.
pub(crate) fn crlf_extra(chunk: &[u8], prev_cr: &mut bool) -> u64 {
    let mut extra = 0;
    for &b in chunk {
        if b == b'\n' && !*prev_cr {
            extra += 1;
        }
        *prev_cr = b == b'\r';
    }
    extra
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_base_and_info() {
        assert_eq!(split("1.M1.h,S=5:2,S"), ("1.M1.h,S=5", Some("2,S")));
        assert_eq!(split("1.M1.h"), ("1.M1.h", None));
        assert_eq!(split(":2,"), ("", Some("2,")));
    }

    #[test]
    fn reads_dovecot_size_fields() {
        let base = "1276528487.M364837P9451.kurkku,S=1355,W=1394";
        assert_eq!(size_field(base, 'S'), Some(1355));
        assert_eq!(size_field(base, 'W'), Some(1394));
        assert_eq!(size_field("1.x.host", 'S'), None);
        assert_eq!(size_field("1.x.host,S=", 'S'), None);
        assert_eq!(size_field("1.x.host,S=-1", 'S'), None);
        assert_eq!(size_field("1.x.host,S=99999999999999999999999", 'S'), None);
        // The first component is never a field, even if it looks like one.
        assert_eq!(size_field("S=5", 'S'), None);
    }

    #[test]
    fn unique_bases_are_unique_and_well_formed() {
        let a = unique_base(10, 12);
        let b = unique_base(10, 12);
        assert_ne!(a, b);
        assert!(is_message_name(&a) && !a.contains(':'));
        assert_eq!(
            (size_field(&a, 'S'), size_field(&a, 'W')),
            (Some(10), Some(12))
        );
    }

    #[test]
    fn hidden_and_malformed_names_are_not_messages() {
        assert!(!is_message_name(".tmpfile"));
        assert!(!is_message_name(":2,S"));
        assert!(is_message_name("1.a.b:2,S"));
    }

    #[test]
    fn crlf_extra_counts_bare_lf_across_chunks() {
        let mut cr = false;
        assert_eq!(crlf_extra(b"a\nb\r", &mut cr), 1);
        assert_eq!(crlf_extra(b"\nc\n\n", &mut cr), 2);
    }
}

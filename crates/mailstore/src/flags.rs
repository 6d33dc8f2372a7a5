//! [`Flags`] and the Maildir info suffix `:2,FLAGS` that stores them.
//!
//! Maildir spec (cr.yp.to/proto/maildir.html): "Flags must be stored in ASCII order", with
//! `D`raft, `F`lagged, `P`assed, `R`eplied, `S`een, `T`rashed. Dovecot adds keyword letters
//! `a`–`z` (mapped through `dovecot-keywords`) and treats anything after a `,` in the flags
//! field as its own extension data. calm interprets the six system flags and the keyword
//! letters (names in `keywords`), and carries the rest through every rename untouched, so a
//! Maildir moved between calm and Dovecot keeps it all.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// A set of the six Maildir system flags.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

/// The letters in ASCII order, as the Maildir spec requires them written.
const LETTERS: [(char, Flags); 6] = [
    ('D', Flags::DRAFT),
    ('F', Flags::FLAGGED),
    ('P', Flags::PASSED),
    ('R', Flags::REPLIED),
    ('S', Flags::SEEN),
    ('T', Flags::TRASHED),
];

impl Flags {
    /// No flags.
    pub const EMPTY: Flags = Flags(0);
    /// `D`: IMAP `\Draft`.
    pub const DRAFT: Flags = Flags(1);
    /// `F`: IMAP `\Flagged`.
    pub const FLAGGED: Flags = Flags(1 << 1);
    /// `P`: passed (forwarded); IMAP has no system flag for it.
    pub const PASSED: Flags = Flags(1 << 2);
    /// `R`: IMAP `\Answered`.
    pub const REPLIED: Flags = Flags(1 << 3);
    /// `S`: IMAP `\Seen`.
    pub const SEEN: Flags = Flags(1 << 4);
    /// `T`: IMAP `\Deleted` (marked for expunge).
    pub const TRASHED: Flags = Flags(1 << 5);

    /// True if every flag in `other` is set.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// True if no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The flags of `self` that are not in `other`.
    pub fn without(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }

    /// The flag for a Maildir letter (`'S'` → [`Flags::SEEN`]).
    pub fn from_letter(letter: char) -> Option<Flags> {
        LETTERS.iter().find(|(l, _)| *l == letter).map(|(_, f)| *f)
    }

    /// The letters of the set flags in ASCII order, e.g. `"FS"`.
    pub fn letters(self) -> String {
        LETTERS
            .iter()
            .filter(|(_, f)| self.contains(*f))
            .map(|(l, _)| *l)
            .collect()
    }

    /// Applies a STORE-style change.
    pub fn apply(self, op: FlagOp, flags: Flags) -> Flags {
        match op {
            FlagOp::Add => self | flags,
            FlagOp::Remove => self.without(flags),
            FlagOp::Replace => flags,
        }
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Flags({})", self.letters())
    }
}

/// How [`crate::Mailbox::set_flags`] combines the given flags with the current ones
/// (IMAP STORE `+FLAGS`, `-FLAGS`, `FLAGS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagOp {
    /// Set these flags, keep the others.
    Add,
    /// Clear these flags, keep the others.
    Remove,
    /// Set exactly these flags.
    Replace,
}

/// The parsed info part of a file name in `cur/` (everything after the first `:`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Info {
    /// The system flags.
    pub flags: Flags,
    /// Other flag letters (Dovecot keywords `a`–`z`, unknown capitals), kept verbatim.
    pub other: String,
    /// A `,`-separated tail after the flag letters (Dovecot extension), kept verbatim.
    pub tail: String,
}

impl Info {
    /// Parses the text after `:`. Only `2,` infos carry flags (the spec's `1,` is
    /// experimental); anything else reads as no flags and is rewritten as `2,` on change.
    pub fn parse(info: Option<&str>) -> Info {
        let Some(rest) = info.and_then(|i| i.strip_prefix("2,")) else {
            return Info::default();
        };
        let (letters, tail) = match rest.split_once(',') {
            Some((l, t)) => (l, t.to_owned()),
            None => (rest, String::new()),
        };
        let mut parsed = Info {
            tail,
            ..Info::default()
        };
        for c in letters.chars() {
            match Flags::from_letter(c) {
                Some(f) => parsed.flags |= f,
                None if c.is_ascii_graphic() && !parsed.other.contains(c) => parsed.other.push(c),
                None => {}
            }
        }
        parsed
    }

    /// The keyword letters `a`–`z` among the other letters (see `keywords`).
    pub fn keyword_letters(&self) -> impl Iterator<Item = char> + '_ {
        self.other.chars().filter(char::is_ascii_lowercase)
    }

    /// Applies a STORE-style change to the keyword letters; other letters stay.
    pub fn apply_keywords(&mut self, op: FlagOp, letters: &[char]) {
        let keep = |c: &char| match op {
            _ if !c.is_ascii_lowercase() => true,
            FlagOp::Add => true,
            FlagOp::Remove => !letters.contains(c),
            FlagOp::Replace => false,
        };
        let mut other: String = self.other.chars().filter(keep).collect();
        if op != FlagOp::Remove {
            for &letter in letters {
                if letter.is_ascii_lowercase() && !other.contains(letter) {
                    other.push(letter);
                }
            }
        }
        self.other = other;
    }

    /// The info text for a file name, without the leading `:`: `2,` + letters in ASCII order.
    pub fn encode(&self) -> String {
        let mut letters: Vec<char> = self.flags.letters().chars().collect();
        letters.extend(self.other.chars());
        letters.sort_unstable();
        letters.dedup();
        let mut out = String::from("2,");
        out.extend(letters);
        if !self.tail.is_empty() {
            out.push(',');
            out.push_str(&self.tail);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_are_in_ascii_order() {
        let all = Flags::TRASHED | Flags::SEEN | Flags::DRAFT | Flags::REPLIED;
        assert_eq!(all.letters(), "DRST");
        assert_eq!(Flags::EMPTY.letters(), "");
        assert_eq!(format!("{:?}", Flags::FLAGGED), "Flags(F)");
    }

    #[test]
    fn apply_matches_store_semantics() {
        let f = Flags::SEEN | Flags::FLAGGED;
        assert_eq!(f.apply(FlagOp::Add, Flags::DRAFT), f | Flags::DRAFT);
        assert_eq!(f.apply(FlagOp::Remove, Flags::SEEN), Flags::FLAGGED);
        assert_eq!(f.apply(FlagOp::Replace, Flags::TRASHED), Flags::TRASHED);
        assert!(f.contains(Flags::SEEN) && !f.contains(Flags::SEEN | Flags::DRAFT));
    }

    #[test]
    fn dovecot_suffixes_round_trip_with_keywords_and_tail() {
        // Dovecot documentation example: `STln` = Seen, Trashed, keywords l and n.
        let info = Info::parse(Some("2,STln"));
        assert_eq!(info.flags, Flags::SEEN | Flags::TRASHED);
        assert_eq!(info.other, "ln");
        assert_eq!(info.encode(), "2,STln");
        let mut changed = info.clone();
        changed.flags = Flags::FLAGGED;
        assert_eq!(changed.encode(), "2,Fln");
        let tail = Info::parse(Some("2,Sa,XYZ=1"));
        assert_eq!((tail.other.as_str(), tail.tail.as_str()), ("a", "XYZ=1"));
        assert_eq!(tail.encode(), "2,Sa,XYZ=1");
    }

    #[test]
    fn keyword_letters_follow_store_semantics_and_keep_foreign_letters() {
        let mut info = Info::parse(Some("2,SXac"));
        assert_eq!(info.keyword_letters().collect::<String>(), "ac");
        info.apply_keywords(FlagOp::Add, &['b', 'a']);
        assert_eq!(info.encode(), "2,SXabc");
        info.apply_keywords(FlagOp::Remove, &['a', 'z']);
        assert_eq!(info.encode(), "2,SXbc");
        info.apply_keywords(FlagOp::Replace, &['d']);
        assert_eq!(info.encode(), "2,SXd");
        info.apply_keywords(FlagOp::Replace, &[]);
        assert_eq!(info.encode(), "2,SX");
    }

    #[test]
    fn hostile_or_foreign_infos_never_panic() {
        for raw in [
            None,
            Some(""),
            Some("1,S"),
            Some("2"),
            Some("2,"),
            Some("2,SSSS"),
            Some("2,\u{e9}\0\n"),
        ] {
            let info = Info::parse(raw);
            assert!(info.encode().starts_with("2,"));
        }
        assert_eq!(Info::parse(Some("1,S")).flags, Flags::EMPTY);
        assert_eq!(Info::parse(Some("2,SSSS")).encode(), "2,S");
        assert_eq!(Info::parse(Some("2,\u{e9}\0\n")).encode(), "2,");
    }
}

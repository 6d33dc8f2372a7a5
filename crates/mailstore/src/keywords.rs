//! IMAP keywords (flags without a backslash, RFC 3501 §2.3.2) stored as Dovecot does in a
//! Maildir: each folder's `dovecot-keywords` file names up to 26 keywords, one line `N name`
//! each (N = 0..25), and keyword N is the letter `a`+N in a message's info suffix, after the
//! capital system flags (`:2,Sab` is \Seen with keywords 0 and 1).
//!
//! Keywords compare without regard to ASCII case (RFC 3501 §2.3.2: "case-insensitive"), and
//! a name keeps the spelling it was first stored with. A new keyword takes the lowest free
//! index under the mailbox's index lock, and the file is replaced atomically (temp file,
//! fsync, rename, fsync of the directory). A 27th keyword cannot be stored in a Maildir:
//! [`Error::TooManyKeywords`].

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::{Error, IoContext};

/// The file name, in each Maildir folder, as Dovecot names it.
pub(crate) const FILE: &str = "dovecot-keywords";

/// The most keywords one mailbox can hold: one per letter `a`–`z`.
pub const MAX_KEYWORDS: usize = 26;

/// A mailbox's keyword names by index (letter `a` + index).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Keywords {
    names: Vec<Option<String>>,
}

/// What identifies a version of the file (inode, size, mtime); `None` if there is none.
pub(crate) type FileStamp = Option<(u64, u64, i64, i64)>;

/// True if `name` is a keyword calm can store: an RFC 3501 `atom` of at most 255 octets (no
/// space, control character, non-ASCII octet or atom-special `(){%*"\]`), so it fits on one
/// line of the file and never reads as a system flag.
pub fn is_valid_keyword(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"(){%*\"\\]".contains(&b))
}

impl Keywords {
    /// Parses the file's text; lines that are not `N name` with N < 26 and a valid name, or
    /// that repeat an index or a name, are skipped (the file may come from another program).
    pub fn parse(text: &str) -> Keywords {
        let mut keywords = Keywords::default();
        for line in text.lines() {
            let Some((index, name)) = line.split_once(' ') else {
                continue;
            };
            let Ok(index) = index.parse::<usize>() else {
                continue;
            };
            let free = keywords.names.get(index).is_none_or(Option::is_none);
            if index < MAX_KEYWORDS
                && free
                && is_valid_keyword(name)
                && keywords.find(name).is_none()
            {
                keywords.put(index, name);
            }
        }
        keywords
    }

    /// Reads `dir`'s file; none means no keywords.
    pub fn load(dir: &Path) -> Result<Keywords, Error> {
        let path = dir.join(FILE);
        match fs::read(&path) {
            Ok(bytes) => Ok(Keywords::parse(&String::from_utf8_lossy(&bytes))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Keywords::default()),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// The stamp of `dir`'s file now, to tell whether it changed since it was loaded.
    pub fn stamp(dir: &Path) -> Result<FileStamp, Error> {
        let path = dir.join(FILE);
        match fs::metadata(&path) {
            Ok(m) => Ok(Some((m.ino(), m.size(), m.mtime(), m.mtime_nsec()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Replaces `dir`'s file with these keywords, durably. The caller holds the index lock.
    pub fn store(&self, dir: &Path) -> Result<(), Error> {
        crate::files::replace(dir, FILE, self.serialize().as_bytes())?;
        File::open(dir).and_then(|d| d.sync_all()).at(dir)
    }

    fn serialize(&self) -> String {
        self.iter()
            .map(|(letter, name)| format!("{} {name}\n", u32::from(letter) - u32::from('a')))
            .collect()
    }

    fn put(&mut self, index: usize, name: &str) {
        if self.names.len() <= index {
            self.names.resize(index + 1, None);
        }
        if let Some(slot) = self.names.get_mut(index) {
            *slot = Some(name.to_owned());
        }
    }

    /// The defined keywords as (letter, name), by letter.
    pub fn iter(&self) -> impl Iterator<Item = (char, &str)> {
        self.names
            .iter()
            .zip('a'..='z')
            .filter_map(|(name, letter)| name.as_deref().map(|n| (letter, n)))
    }

    /// How many keywords are defined.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// True if no keyword is defined.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The letter of a keyword, compared without regard to ASCII case.
    pub fn find(&self, name: &str) -> Option<char> {
        self.iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(letter, _)| letter)
    }

    /// The name of a keyword letter, if the file defines it.
    pub fn name(&self, letter: char) -> Option<&str> {
        let index = (letter as usize).checked_sub('a' as usize)?;
        self.names.get(index)?.as_deref()
    }

    /// The letters of `names`, defining those not yet known (lowest free index first).
    /// Returns the letters and whether anything was defined (the file must then be stored).
    /// [`Error::TooManyKeywords`] if they do not all fit; nothing is defined then.
    /// [`Error::InvalidKeyword`] for a name that is not an atom.
    pub fn letters_for(&mut self, names: &[&str]) -> Result<(Vec<char>, bool), Error> {
        if let Some(bad) = names.iter().find(|n| !is_valid_keyword(n)) {
            return Err(Error::InvalidKeyword((*bad).to_owned()));
        }
        let before = self.clone();
        let mut letters = Vec::with_capacity(names.len());
        for name in names {
            match self.find_or_define(name) {
                Some(letter) => letters.push(letter),
                None => {
                    *self = before;
                    return Err(Error::TooManyKeywords((*name).to_owned()));
                }
            }
        }
        let defined = *self != before;
        Ok((letters, defined))
    }

    /// The letter of a keyword, defining it if it is new; `None` if all 26 are taken. The
    /// caller has checked the name ([`is_valid_keyword`]).
    pub fn find_or_define(&mut self, name: &str) -> Option<char> {
        self.find(name).or_else(|| self.define(name))
    }

    /// Defines a new keyword at the lowest free index; `None` if all 26 are taken.
    fn define(&mut self, name: &str) -> Option<char> {
        let index = (0..MAX_KEYWORDS).find(|&i| self.names.get(i).is_none_or(Option::is_none))?;
        self.put(index, name);
        char::from_u32(u32::from('a') + u32::try_from(index).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dovecots_file_and_skips_what_it_cannot_use() {
        // As Dovecot 2.3 writes it after `doveadm flags add '$Junk Foo $label1'`.
        let k = Keywords::parse("0 $Junk\n1 Foo\n2 $label1\n");
        assert_eq!(
            k.iter().collect::<Vec<_>>(),
            [('a', "$Junk"), ('b', "Foo"), ('c', "$label1")]
        );
        let odd = Keywords::parse("3 d\n26 z\nx y\n3 again\n4 FOO\n5 foo\n6 bad(\n7\n\n1 b");
        assert_eq!(
            odd.iter().collect::<Vec<_>>(),
            [('b', "b"), ('d', "d"), ('e', "FOO")]
        );
        assert_eq!(odd.serialize(), "1 b\n3 d\n4 FOO\n");
    }

    #[test]
    fn lookups_ignore_case_and_keep_the_first_spelling() {
        let mut k = Keywords::parse("0 $Junk\n");
        assert_eq!(k.find("$JUNK"), Some('a'));
        assert_eq!(k.name('a'), Some("$Junk"));
        assert_eq!(k.name('b'), None);
        assert_eq!(k.name('A'), None);
        let (letters, defined) = k.letters_for(&["$junk", "Work", "work"]).unwrap();
        assert_eq!((letters, defined), (vec!['a', 'b', 'b'], true));
        assert_eq!(k.name('b'), Some("Work"));
        assert_eq!(k.letters_for(&["WORK"]).unwrap(), (vec!['b'], false));
    }

    #[test]
    fn new_keywords_fill_gaps_and_a_27th_defines_nothing() {
        let mut k = Keywords::parse("1 one\n");
        assert_eq!(k.letters_for(&["zero"]).unwrap().0, ['a']);
        let names: Vec<String> = (2..MAX_KEYWORDS).map(|i| format!("k{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(k.letters_for(&refs).unwrap().0.last(), Some(&'z'));
        assert_eq!(k.len(), MAX_KEYWORDS);
        let full = k.clone();
        let err = k.letters_for(&["k2", "extra"]).unwrap_err();
        assert!(matches!(err, Error::TooManyKeywords(n) if n == "extra"));
        assert_eq!(k, full);
    }

    #[test]
    fn invalid_atoms_are_refused() {
        for bad in [
            "",
            "a b",
            "\\Seen",
            "x(",
            "q\"",
            "]",
            "%",
            "*",
            "caf\u{e9}",
            "a\nb",
        ] {
            assert!(!is_valid_keyword(bad), "{bad:?}");
            let err = Keywords::default().letters_for(&[bad]).unwrap_err();
            assert!(matches!(err, Error::InvalidKeyword(_)), "{bad:?}");
        }
        assert!(is_valid_keyword("$Label1") && is_valid_keyword("NonJunk"));
    }

    #[test]
    fn stores_atomically_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Keywords::load(dir.path()).unwrap(), Keywords::default());
        assert_eq!(Keywords::stamp(dir.path()).unwrap(), None);
        let mut k = Keywords::default();
        k.letters_for(&["$Forwarded", "Junk"]).unwrap();
        k.store(dir.path()).unwrap();
        let text = fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert_eq!(text, "0 $Forwarded\n1 Junk\n");
        assert_eq!(Keywords::load(dir.path()).unwrap(), k);
        assert!(Keywords::stamp(dir.path()).unwrap().is_some());
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file left");
    }
}

//! [`QueueId`]: a sortable, filesystem-safe message identifier.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Crockford's base 32: digits then letters in ASCII order, so ids sort by time as plain strings,
/// and without I, L, O, U so an id read aloud or retyped is unambiguous.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 11 digits × 5 bits = 55 bits of microseconds: good until the year 3111.
const TIME_DIGITS: usize = 11;
const COUNTER_DIGITS: usize = 4;
const RANDOM_DIGITS: usize = 4;
/// Length of every id.
pub const QUEUE_ID_LEN: usize = TIME_DIGITS + COUNTER_DIGITS + RANDOM_DIGITS;

/// Why a string is not a queue id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueueIdError {
    /// Not exactly [`QUEUE_ID_LEN`] characters.
    #[error("queue id must be {QUEUE_ID_LEN} characters")]
    BadLength,
    /// A character outside the id alphabet.
    #[error("queue id contains an invalid character")]
    BadCharacter,
}

/// A message identifier: used as the queue id, in `Received:` headers and in Maildir names.
///
/// Layout: 11 base-32 digits of microseconds since the Unix epoch, 4 digits of a per-process
/// counter and 4 of randomness, all from `[0-9A-Z]`. Ids sort by creation time as strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueId(String);

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl QueueId {
    /// A fresh id from the system clock, the process counter and a little randomness.
    pub fn generate() -> QueueId {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
        QueueId::from_parts(micros, counter, random_bits())
    }

    /// Builds an id from its parts (for tests and deterministic tools); excess bits are dropped.
    pub fn from_parts(micros: u64, counter: u32, random: u32) -> QueueId {
        let mut s = String::with_capacity(QUEUE_ID_LEN);
        push_base32(&mut s, micros, TIME_DIGITS);
        push_base32(&mut s, u64::from(counter), COUNTER_DIGITS);
        push_base32(&mut s, u64::from(random), RANDOM_DIGITS);
        QueueId(s)
    }

    /// Checks that `s` has the shape of an id.
    pub fn parse(s: &str) -> Result<QueueId, QueueIdError> {
        if s.len() != QUEUE_ID_LEN {
            return Err(QueueIdError::BadLength);
        }
        if !s.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(QueueIdError::BadCharacter);
        }
        Ok(QueueId(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Unix time in seconds at which the id was generated.
    pub fn timestamp(&self) -> u64 {
        self.micros() / 1_000_000
    }

    /// Unix time in microseconds at which the id was generated.
    pub fn micros(&self) -> u64 {
        self.0
            .bytes()
            .take(TIME_DIGITS)
            .map(|b| ALPHABET.iter().position(|&a| a == b).unwrap_or(0) as u64)
            .fold(0, |acc, d| (acc << 5) | d)
    }
}

fn push_base32(out: &mut String, value: u64, digits: usize) {
    for i in (0..digits).rev() {
        let d = (value >> (i * 5)) & 31;
        out.push(char::from(ALPHABET[d as usize]));
    }
}

/// Not cryptographic: enough to keep ids from two processes started in the same microsecond
/// apart. `RandomState` is seeded from the OS once per thread.
fn random_bits() -> u32 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish() as u32
}

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for QueueId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for QueueId {
    type Err = QueueIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        QueueId::parse(s)
    }
}

impl serde::Serialize for QueueId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for QueueId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        QueueId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_well_formed_and_unique() {
        let ids: Vec<QueueId> = (0..1000).map(|_| QueueId::generate()).collect();
        let mut set: Vec<&str> = ids.iter().map(QueueId::as_str).collect();
        set.sort_unstable();
        set.dedup();
        assert_eq!(set.len(), ids.len());
        for id in &ids {
            assert_eq!(QueueId::parse(id.as_str()).as_ref(), Ok(id));
            assert!(id.as_str().bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn timestamp_round_trips_and_ids_sort_by_time() {
        let a = QueueId::from_parts(1_700_000_000_123_456, 7, 9);
        let b = QueueId::from_parts(1_700_000_000_123_457, 0, 0);
        assert_eq!(a.micros(), 1_700_000_000_123_456);
        assert_eq!(a.timestamp(), 1_700_000_000);
        assert!(a < b);
        assert!(a.as_str() < b.as_str());
        let now = QueueId::generate();
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(now.timestamp().abs_diff(secs) < 5);
    }

    #[test]
    fn parse_rejects_bad_input() {
        assert_eq!(QueueId::parse(""), Err(QueueIdError::BadLength));
        assert_eq!(
            QueueId::parse("0123456789ABCDEFGHJ0"),
            Err(QueueIdError::BadLength)
        );
        assert_eq!(
            QueueId::parse("0123456789ABCDEFGH/"),
            Err(QueueIdError::BadCharacter)
        );
        assert_eq!(
            QueueId::parse("0123456789ABCDEFGH."),
            Err(QueueIdError::BadCharacter)
        );
        assert_eq!(
            QueueId::parse("0123456789abcdefghj"),
            Err(QueueIdError::BadCharacter)
        );
        assert_eq!(
            QueueId::parse("0123456789ABCDEFGHI"),
            Err(QueueIdError::BadCharacter)
        );
        // Multi-byte input with the right byte length must not panic.
        assert_eq!(
            QueueId::parse("ééééééééé0"),
            Err(QueueIdError::BadCharacter)
        );
    }

    #[test]
    fn serde_as_string() {
        let id = QueueId::from_parts(1, 2, 3);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<QueueId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<QueueId>("\"../etc\"").is_err());
    }
}

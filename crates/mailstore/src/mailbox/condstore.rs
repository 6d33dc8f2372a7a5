//! The CONDSTORE side of [`Mailbox`] (RFC 7162 §3.1): HIGHESTMODSEQ, the conditional flag
//! change, and the MODSEQs a flag change gives. The values live in `modseq`.

use crate::error::Error;
use crate::filename;
use crate::flags::{FlagOp, Flags};
use crate::modseq;

use super::{Mailbox, Uid};

/// A conditional flag change: the changed messages with their new flags, and the UIDs left
/// alone because they changed since (IMAP's `MODIFIED` set).
pub(crate) type Conditional = (Vec<(Uid, Flags)>, Vec<Uid>);

impl Mailbox {
    /// HIGHESTMODSEQ (RFC 7162 §3.1.2.1) as of the last sync: at least every MODSEQ in the
    /// view; an expunge raises it too.
    pub fn highest_modseq(&self) -> u64 {
        self.highest_modseq.max(1)
    }

    /// Like [`Mailbox::store_flags`], but only for messages whose MODSEQ, checked under the
    /// lock, is at most `unchanged_since` (STORE UNCHANGEDSINCE, RFC 7162 §3.1.3). Returns the
    /// changed messages with their new flags, and the UIDs left alone because they changed
    /// since (IMAP's `MODIFIED` set). With 0 every existing message is left alone.
    pub fn store_flags_unchanged_since(
        &mut self,
        uids: &[Uid],
        op: FlagOp,
        flags: Flags,
        keywords: &[&str],
        unchanged_since: u64,
    ) -> Result<Conditional, Error> {
        self.change_flags(uids, op, flags, Some(keywords), Some(unchanged_since))
    }

    /// Splits `uids` into those whose MODSEQ is at most `since` (all of them without one)
    /// and the others. The caller holds the lock; a message the store has no MODSEQ for yet
    /// counts as changed at HIGHESTMODSEQ.
    pub(super) fn split_unchanged(
        &self,
        uids: &[Uid],
        since: Option<u64>,
    ) -> Result<(Vec<Uid>, Vec<Uid>), Error> {
        let Some(since) = since else {
            return Ok((uids.to_vec(), Vec::new()));
        };
        let state = modseq::current(&self.modseqs, &self.dir, self.uid_validity)?;
        let modseq_of = |uid: Uid| match state.as_ref() {
            Some(s) => s.get(uid).unwrap_or_else(|| s.highest()),
            None => u64::MAX,
        };
        Ok(uids.iter().partition(|&&uid| modseq_of(uid) <= since))
    }

    /// Gives the next MODSEQ to the messages of `changed` whose file name changed, in the
    /// store and in this view. The caller holds the lock.
    pub(super) fn give_modseqs(&mut self, changed: &[(Uid, Flags)]) -> Result<(), Error> {
        if changed.is_empty() {
            return Ok(());
        }
        let mut guard = modseq::current(&self.modseqs, &self.dir, self.uid_validity)?;
        let state = guard.get_or_insert_default();
        let mut touched: Vec<(Uid, &str)> = Vec::new();
        for &(uid, _) in changed {
            if let Some(msg) = self.get(uid) {
                let info = filename::split(&msg.file).1.unwrap_or_default();
                if !state.has_info(uid, info) {
                    touched.push((uid, info));
                }
            }
        }
        if touched.is_empty() {
            return Ok(());
        }
        let value = state.assign(&self.dir, &touched)?;
        let uids: Vec<Uid> = touched.iter().map(|(uid, _)| *uid).collect();
        drop(guard);
        let messages = std::sync::Arc::make_mut(&mut self.messages);
        for uid in uids {
            if let Ok(i) = messages.binary_search_by_key(&uid, |m| m.uid)
                && let Some(msg) = messages.get_mut(i)
            {
                msg.modseq = value;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

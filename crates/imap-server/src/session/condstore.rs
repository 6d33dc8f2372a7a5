//! CONDSTORE (RFC 7162 §3.1): which commands enable it, and the HIGHESTMODSEQ response. The
//! MODSEQs themselves come from the mailstore; FETCH, STORE and SEARCH use them in
//! `messages` and `search`.

use calm_imap_proto::{CommandBody, FetchItem, SearchKey, StatusItem};
use calm_mailstore::Mailbox;

use super::{Session, line};

/// RFC 7162 §3.1: the "CONDSTORE enabling commands" (ENABLE CONDSTORE is handled by ENABLE,
/// which must name what it newly enabled).
pub(super) fn enables(body: &CommandBody) -> bool {
    match body {
        CommandBody::Select { condstore, .. } => *condstore,
        CommandBody::Status { items, .. } => items.contains(&StatusItem::HighestModseq),
        CommandBody::List(list) => list.return_status.contains(&StatusItem::HighestModseq),
        CommandBody::Fetch {
            items,
            changed_since,
            ..
        } => changed_since.is_some() || items.contains(&FetchItem::Modseq),
        CommandBody::Store {
            unchanged_since, ..
        } => unchanged_since.is_some(),
        CommandBody::Search { key, .. } => has_modseq(key),
        _ => false,
    }
}

/// True if a SEARCH key uses MODSEQ: the response then carries the highest MODSEQ of the
/// messages found (RFC 7162 §3.1.5).
pub(super) fn has_modseq(key: &SearchKey) -> bool {
    match key {
        SearchKey::Modseq(_) => true,
        SearchKey::And(keys) => keys.iter().any(has_modseq),
        SearchKey::Or(a, b) => has_modseq(a) || has_modseq(b),
        SearchKey::Not(k) => has_modseq(k),
        _ => false,
    }
}

/// `* OK [HIGHESTMODSEQ n]` (RFC 7162 §3.1.2.1).
pub(super) fn write_highest(out: &mut Vec<u8>, mailbox: &Mailbox) {
    let highest = mailbox.highest_modseq();
    line(out, &format!("* OK [HIGHESTMODSEQ {highest}] Highest"));
}

impl Session {
    /// Enables CONDSTORE; RFC 7162 §3.1: enabled while a mailbox is selected, the server
    /// reports that mailbox's HIGHESTMODSEQ at once (with `report`; a SELECT reports the
    /// mailbox it selects itself).
    pub(super) fn enable_condstore(&mut self, out: &mut Vec<u8>, report: bool) {
        if self.condstore {
            return;
        }
        self.condstore = true;
        if let (true, Some(selected)) = (report, &self.selected) {
            write_highest(out, &selected.mailbox);
        }
    }
}

//! GETQUOTA, GETQUOTAROOT and SETQUOTA (RFC 9208, compatible with RFC 2087).
//!
//! A user has at most one quota root, named `""` (as Dovecot's default), covering all of
//! their mailboxes, with one resource, STORAGE, in units of 1024 octets. A user without a
//! limit has no quota root. Limits are the operator's (the users file or the configuration),
//! so SETQUOTA is refused.

use std::sync::Arc;

use calm_imap_proto::{CommandBody, encode};

use super::{Session, line, store_error};
use crate::Backend;

/// The name of the one quota root.
const ROOT: &str = "";

/// The session's view of its user's quota, asked fresh at each command so that a reloaded
/// users file applies at once.
pub(crate) trait Quota: Send + Sync {
    /// The limit in octets, if the user has one.
    fn limit(&self) -> Option<u64>;
    /// The octets in use (blocking I/O).
    fn used(&self) -> u64;
}

/// [`Quota`] through the backend, for one logged-in user.
pub(crate) struct UserQuota<B> {
    pub backend: Arc<B>,
    pub user: String,
}

impl<B: Backend> Quota for UserQuota<B> {
    fn limit(&self) -> Option<u64> {
        self.backend.storage_limit(&self.user)
    }

    fn used(&self) -> u64 {
        self.backend.storage_used(&self.user)
    }
}

/// Whether adding `octets` would take the user over their limit: APPEND and COPY answer
/// `NO [OVERQUOTA]` (RFC 9208 §4.3), as delivery answers 452 at RCPT. MOVE adds nothing.
pub(super) fn over_quota(quota: &Option<Box<dyn Quota>>, octets: u64) -> bool {
    quota.as_ref().is_some_and(|q| {
        q.limit()
            .is_some_and(|limit| q.used().saturating_add(octets) > limit)
    })
}

impl Session {
    /// The user's storage limit in octets, if there is one to report.
    pub(crate) fn storage_limit(&self) -> Option<u64> {
        self.quota.as_ref().and_then(|q| q.limit())
    }

    pub(super) fn quota_command(
        &mut self,
        tag: &str,
        body: CommandBody,
        out: &mut Vec<u8>,
        tagged: &mut Vec<u8>,
    ) {
        match body {
            CommandBody::GetQuotaRoot { mailbox } => {
                self.get_quota_root(tag, &mailbox, out, tagged)
            }
            CommandBody::GetQuota { root } => match self.usage() {
                Some((used, limit)) if root == ROOT => {
                    write_quota(out, used, limit);
                    line(tagged, &format!("{tag} OK GETQUOTA completed"));
                }
                _ => line(
                    tagged,
                    &format!("{tag} NO [NONEXISTENT] No such quota root"),
                ),
            },
            // RFC 5530 NOPERM: the client may not change its own limits.
            _ => line(
                tagged,
                &format!("{tag} NO [NOPERM] Quotas are set by the server's operator"),
            ),
        }
    }

    fn get_quota_root(&mut self, tag: &str, mailbox: &str, out: &mut Vec<u8>, t: &mut Vec<u8>) {
        match self.store.exists(mailbox) {
            Ok(true) => {}
            Ok(false) => {
                let e = calm_mailstore::Error::NoSuchMailbox(mailbox.to_owned());
                return store_error(t, tag, &e);
            }
            Err(e) => return store_error(t, tag, &e),
        }
        let usage = self.usage();
        out.extend_from_slice(b"* QUOTAROOT ");
        encode::mailbox(out, mailbox, self.rev2);
        if usage.is_some() {
            out.extend_from_slice(b" ");
            encode::string(out, ROOT.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if let Some((used, limit)) = usage {
            write_quota(out, used, limit);
        }
        line(t, &format!("{tag} OK GETQUOTAROOT completed"));
    }

    /// (used, limit) in octets, for a user with a limit.
    fn usage(&self) -> Option<(u64, u64)> {
        let quota = self.quota.as_ref()?;
        let limit = quota.limit()?;
        Some((quota.used(), limit))
    }
}

/// `* QUOTA "" (STORAGE used limit)` in units of 1024 octets (RFC 9208 STORAGE): usage rounded
/// up, so a mailbox holding anything never reads 0, and the limit rounded down, so a client
/// never believes there is room that delivery would refuse.
fn write_quota(out: &mut Vec<u8>, used: u64, limit: u64) {
    out.extend_from_slice(b"* QUOTA ");
    encode::string(out, ROOT.as_bytes());
    let used = used.div_ceil(1024);
    line(out, &format!(" (STORAGE {used} {})", limit / 1024));
}

#[cfg(test)]
mod tests {
    use super::write_quota;

    #[test]
    fn storage_is_reported_in_kib_usage_rounded_up_limit_down() {
        let mut out = Vec::new();
        write_quota(&mut out, 0, 1024);
        write_quota(&mut out, 1, 2047);
        write_quota(&mut out, 1024, 1 << 30);
        write_quota(&mut out, 1025, u64::MAX);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "* QUOTA \"\" (STORAGE 0 1)\r\n\
             * QUOTA \"\" (STORAGE 1 1)\r\n\
             * QUOTA \"\" (STORAGE 1 1048576)\r\n\
             * QUOTA \"\" (STORAGE 2 18014398509481983)\r\n"
        );
    }
}

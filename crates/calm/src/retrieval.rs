//! The backend of the mailbox-retrieval listeners (POP3, IMAP): passwords from the live user
//! directory, mailboxes where delivery puts them, events into the event log.

use std::path::PathBuf;
use std::sync::Arc;

use calm_eventlog::EventLog;

use crate::accounts::LiveDirectory;

/// Shared by every IMAP and POP3 listener.
pub struct MailboxBackend {
    pub directory: Arc<LiveDirectory>,
    pub mail_base: PathBuf,
    pub events: EventLog,
    /// The spam classifier, trained when users move mail into or out of Junk.
    pub learner: Option<Arc<crate::content::ContentPipeline>>,
    /// The default per-user quota (`accounts.quota_bytes`, 0: none), reported over IMAP
    /// QUOTA; a user's own rule in the users file overrides it, as at RCPT.
    pub quota_bytes: u64,
}

impl MailboxBackend {
    /// A user moved or copied messages between mailboxes: into Junk is a missed spam (train
    /// as spam), out of Junk (not to Trash) is a false positive (train as ham and record the
    /// rule most to blame, for the weekly review). Runs off the session's path.
    pub fn learn_from_transfer(&self, user: &str, from: &str, to: &str, messages: &[PathBuf]) {
        let Some(learner) = self.learner.clone() else {
            return;
        };
        let junk = |m: &str| m.eq_ignore_ascii_case("Junk");
        let label = if junk(to) && !junk(from) {
            calm_content::Label::Spam
        } else if junk(from) && !junk(to) && !to.eq_ignore_ascii_case("Trash") {
            calm_content::Label::Ham
        } else {
            return;
        };
        let (events, user, messages) = (self.events.clone(), user.to_string(), messages.to_vec());
        tokio::task::spawn_blocking(move || {
            for path in messages {
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                let trained = learner
                    .learn(label, &bytes, &user)
                    .err()
                    .map(|e| e.to_string());
                let (event, cause) = match label {
                    calm_content::Label::Ham => {
                        ("false_positive", crate::content::root_cause(&bytes))
                    }
                    _ => ("false_negative", "missed".to_string()),
                };
                events.log(&serde_json::json!({
                    "event": event, "user": user, "root_cause": cause, "source": "imap",
                    "training_error": trained,
                }));
            }
        });
    }

    async fn check_password(&self, user: &str, password: &str) -> Option<String> {
        self.directory.verify_password(user, password).await
    }
}

impl calm_pop3_server::Backend for MailboxBackend {
    async fn authenticate(&self, user: &str, password: &str) -> Option<String> {
        self.check_password(user, password).await
    }

    fn mailbox_root(&self, user: &str) -> PathBuf {
        calm_maildir::mailbox_dir(&self.mail_base, user)
    }

    fn event(&self, ev: &calm_pop3_server::Pop3Event) {
        self.events.log(ev);
    }
}

impl calm_imap_server::Backend for MailboxBackend {
    async fn authenticate(&self, user: &str, password: &str) -> Option<String> {
        self.check_password(user, password).await
    }

    fn mailbox_root(&self, user: &str) -> PathBuf {
        calm_maildir::mailbox_dir(&self.mail_base, user)
    }

    fn storage_limit(&self, user: &str) -> Option<u64> {
        let directory = self.directory.current();
        directory.users().storage_limit(user, self.quota_bytes)
    }

    /// The same count the RCPT-time quota check uses (`crate::backend`).
    fn storage_used(&self, user: &str) -> u64 {
        calm_maildir::mailbox_size(&calm_maildir::mailbox_dir(&self.mail_base, user))
    }

    fn event(&self, ev: &calm_imap_server::ImapEvent) {
        if let calm_imap_server::ImapEvent::Transferred {
            user,
            from,
            to,
            messages,
            ..
        } = ev
        {
            self.learn_from_transfer(user, from, to, messages);
        }
        self.events.log(ev);
    }
}

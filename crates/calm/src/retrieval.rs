//! The backend of the mailbox-retrieval listeners (POP3, IMAP): passwords from the live user
//! directory, mailboxes where delivery puts them, events into the event log.

use std::path::PathBuf;
use std::sync::Arc;

use calm_eventlog::EventLog;

use crate::accounts::LiveDirectory;

/// Shared by every POP3 listener.
pub struct MailboxBackend {
    pub directory: Arc<LiveDirectory>,
    pub mail_base: PathBuf,
    pub events: EventLog,
}

impl MailboxBackend {
    async fn check_password(&self, user: &str, password: &str) -> Option<String> {
        let directory = self.directory.current();
        let (user, password) = (user.to_string(), password.to_string());
        // Password hashes are slow on purpose: keep them off the async workers.
        tokio::task::spawn_blocking(move || directory.authenticate(&user, &password))
            .await
            .ok()
            .flatten()
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

    fn event(&self, ev: &calm_imap_server::ImapEvent) {
        self.events.log(ev);
    }
}

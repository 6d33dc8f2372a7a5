//! Spam reports by mail: users forward a message to `content.not_spam_address` (a false
//! positive) or `content.spam_address` (missed spam). calm takes the original out of the
//! report, trains the classifier with it and records a `false_positive` / `false_negative`
//! event with the rule most to blame, as for a move out of or into Junk over IMAP. Only
//! authenticated users may report; a report is consumed, not delivered.

use std::sync::Arc;

use calm_config::Config;
use calm_content::Label;
use calm_eventlog::EventLog;
use calm_smtp_proto::{EnhancedCode, Reply};
use calm_smtp_server::{IncomingMessage, SessionInfo};

use crate::content::ContentPipeline;

/// The report addresses and what they feed.
pub struct SpamReports {
    not_spam: Option<String>,
    spam: Option<String>,
    learner: Option<Arc<ContentPipeline>>,
    events: EventLog,
}

/// What RCPT TO means for a report address.
pub enum ReportRcpt {
    /// Not a report address.
    No,
    /// A report from an authenticated user: the policy sees a known recipient.
    Accept,
    /// Not authenticated: refused.
    Refuse(Reply),
}

impl SpamReports {
    pub fn new(
        config: &Config,
        learner: Option<Arc<ContentPipeline>>,
        events: EventLog,
    ) -> SpamReports {
        let lower = |a: &Option<String>| a.as_ref().map(|a| a.to_ascii_lowercase());
        SpamReports {
            not_spam: lower(&config.content.not_spam_address),
            spam: lower(&config.content.spam_address),
            learner,
            events,
        }
    }

    /// What the report at `rcpt` (a directory key, `local@domain`) teaches, if it is one.
    fn label(&self, rcpt: &str) -> Option<Label> {
        let rcpt = rcpt.to_ascii_lowercase();
        if self.not_spam.as_deref() == Some(&*rcpt) {
            Some(Label::Ham)
        } else if self.spam.as_deref() == Some(&*rcpt) {
            Some(Label::Spam)
        } else {
            None
        }
    }

    pub fn is_report_address(&self, rcpt: &str) -> bool {
        self.label(rcpt).is_some()
    }

    pub fn check_rcpt(&self, s: &SessionInfo, rcpt: &str) -> ReportRcpt {
        match (self.label(rcpt), &s.auth_user) {
            (None, _) => ReportRcpt::No,
            (Some(_), Some(_)) => ReportRcpt::Accept,
            (Some(_), None) => ReportRcpt::Refuse(Reply::new(
                550,
                Some(EnhancedCode::new(5, 7, 1)),
                format!("<{rcpt}> takes spam reports from authenticated users only"),
            )),
        }
    }

    /// Trains with the message inside `msg` once per report address among its recipients,
    /// and logs each report. True when every recipient was a report address (nothing is
    /// left to deliver).
    pub async fn take(&self, s: &SessionInfo, msg: &IncomingMessage, keys: &[String]) -> bool {
        let labels: Vec<Label> = keys.iter().filter_map(|k| self.label(k)).collect();
        let Some(user) = s.auth_user.clone() else {
            return false;
        };
        if labels.is_empty() {
            return false;
        }
        let original = calm_content::forwarded_original(&msg.data);
        for label in labels.iter().copied() {
            let learner = self.learner.clone();
            let bytes = original.clone();
            let user_for_training = user.clone();
            let trained = tokio::task::spawn_blocking(move || match learner {
                Some(l) => l
                    .learn(label, &bytes, &user_for_training)
                    .err()
                    .map(|e| format!("{e:#}")),
                None => Some("content filtering is off: nothing was trained".to_string()),
            })
            .await
            .unwrap_or_else(|e| Some(e.to_string()));
            record(&self.events, &user, label, &original, "forward", trained);
        }
        labels.len() == keys.len()
    }
}

/// One user report as an event: `false_positive` with the rule most to blame (for the weekly
/// review), or `false_negative`.
pub fn record(
    events: &EventLog,
    user: &str,
    label: Label,
    message: &[u8],
    source: &str,
    training_error: Option<String>,
) {
    let (event, cause) = match label {
        Label::Ham => ("false_positive", crate::content::root_cause(message)),
        _ => ("false_negative", "missed".to_string()),
    };
    events.log(&serde_json::json!({
        "event": event, "user": user, "root_cause": cause, "source": source,
        "training_error": training_error,
    }));
}

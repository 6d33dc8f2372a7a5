//! `[limits]`, `[spool]` and `[log]`: numbers that are zero, out of the RFC's range or absurd.

use super::Checker;

/// Above this a message size limit is almost certainly a typo: practically every other
/// server refuses mail this large, and the spool holds each message whole.
const ABSURD_MESSAGE_SIZE: u64 = 1 << 30;

/// RFC 5321 §4.5.3.2.1: clients wait 5 minutes for the greeting, then give up.
const CLIENT_GREETING_TIMEOUT_MS: u64 = 5 * 60 * 1000;

/// Levels the diagnostic log understands on their own.
const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

impl Checker<'_> {
    pub(super) fn limits(&mut self) {
        let limits = &self.config.limits;
        let size = limits.max_message_size;
        if size == 0 {
            self.error(
                &["limits", "max_message_size"],
                "max_message_size is 0: no message could be accepted".to_owned(),
            );
        } else if size > ABSURD_MESSAGE_SIZE {
            self.warning(
                &["limits", "max_message_size"],
                format!("max_message_size is {size} bytes (over 1 GiB): other servers refuse mail this large"),
            );
        }
        if limits.max_recipients == 0 {
            self.error(
                &["limits", "max_recipients"],
                "max_recipients is 0: no message could be accepted".to_owned(),
            );
        } else if limits.max_recipients < 100 {
            self.warning(
                &["limits", "max_recipients"],
                format!(
                    "max_recipients is {}; RFC 5321 §4.5.3.1.8 requires accepting at least 100",
                    limits.max_recipients
                ),
            );
        }
        self.timeouts();
        self.counters();
    }

    fn timeouts(&mut self) {
        let limits = &self.config.limits;
        if limits.command_timeout_secs == 0 {
            self.error(
                &["limits", "command_timeout_secs"],
                "command_timeout_secs is 0".to_owned(),
            );
        } else if limits.command_timeout_secs < 300 {
            self.warning(
                &["limits", "command_timeout_secs"],
                format!(
                    "command_timeout_secs is {}; RFC 5321 §4.5.3.2.7 asks for at least 300",
                    limits.command_timeout_secs
                ),
            );
        }
        if limits.data_timeout_secs == 0 {
            self.error(
                &["limits", "data_timeout_secs"],
                "data_timeout_secs is 0".to_owned(),
            );
        }
        if limits.mx_greeting_delay_ms >= CLIENT_GREETING_TIMEOUT_MS {
            self.error(
                &["limits", "mx_greeting_delay_ms"],
                format!(
                    "mx_greeting_delay_ms is {}: clients give up waiting for the greeting after 5 minutes (RFC 5321 §4.5.3.2.1)",
                    limits.mx_greeting_delay_ms
                ),
            );
        }
    }

    fn counters(&mut self) {
        let limits = &self.config.limits;
        if limits.max_errors == 0 {
            self.error(
                &["limits", "max_errors"],
                "max_errors is 0: must be at least 1".to_owned(),
            );
        }
        if limits.max_auth_failures == 0 {
            self.error(
                &["limits", "max_auth_failures"],
                "max_auth_failures is 0: must be at least 1".to_owned(),
            );
        }
        if self.config.spool.group_commit_max_batch == 0 {
            self.error(
                &["spool", "group_commit_max_batch"],
                "group_commit_max_batch is 0: no message could be committed".to_owned(),
            );
        }
    }

    /// A single word must be a level; anything with `=` or `,` is a filter left to the logger.
    pub(super) fn log_level(&mut self) {
        let level = self.config.log.level.trim();
        if level.is_empty() {
            self.error(&["log", "level"], "log level is empty".to_owned());
        } else if !level.contains(['=', ','])
            && !LOG_LEVELS.contains(&level.to_ascii_lowercase().as_str())
        {
            self.error(
                &["log", "level"],
                format!(
                    "unknown log level {level:?}; expected one of {}",
                    LOG_LEVELS.join(", ")
                ),
            );
        }
    }
}

//! Command, SASL and answer handlers: every transition out of `Commands`, `Sasl` and `Awaiting`.

use calm_mail_types::{Address, Domain, ReversePath};
use calm_sasl::{Authenticator, Mechanism, SaslError, Step};

use super::{
    Action, CloseReason, DataPhase, Hello, Pending, RcptVerdict, Role, Session, State, Transaction,
    ec,
};
use crate::command::{Command, ForwardPath, MailParams};
use crate::data::DataDecoder;
use crate::line::{COMMAND_LINE_LIMIT, LineError};
use crate::reply::Reply;

/// Verbs whose lines may exceed 512 octets: ESMTP parameters and SASL initial responses.
const LONG_VERBS: [&str; 3] = ["MAIL", "RCPT", "AUTH"];
/// Every verb we know, so reject events can name the command even when its syntax is bad.
const KNOWN_VERBS: [&str; 14] = [
    "EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP",
    "STARTTLS", "AUTH", "BDAT",
];

/// The known verb a line starts with, or `"UNKNOWN"`.
fn verb_of(line: &[u8]) -> &'static str {
    let word = line.split(|&b| b == b' ').next().unwrap_or_default();
    KNOWN_VERBS
        .into_iter()
        .find(|v| v.as_bytes().eq_ignore_ascii_case(word))
        .unwrap_or("UNKNOWN")
}

impl Session {
    pub(super) fn on_line(&mut self, line: Result<Vec<u8>, LineError>) {
        match line {
            Err(LineError::BareCr | LineError::BareLf) => {
                self.last_command = "LINE";
                let text = format!("{} Error: bare CR or LF received", self.config.hostname);
                self.tx = None;
                self.close_with(
                    Reply::new(521, ec(5, 5, 2), text),
                    CloseReason::BareLineEnding,
                );
            }
            Err(LineError::TooLong) => {
                self.last_command = "LINE";
                self.abort_sasl();
                self.reject(Reply::new(500, ec(5, 5, 6), "Line too long"));
            }
            Ok(line) if matches!(self.state, State::Sasl(..)) => self.on_sasl_line(&line),
            Ok(line) => self.on_command_line(&line),
        }
    }

    fn on_command_line(&mut self, line: &[u8]) {
        self.last_command = verb_of(line);
        // RFC 5321 §4.5.3.1.4: 512 octets with CRLF, except where extensions need more.
        if line.len() + 2 > COMMAND_LINE_LIMIT && !LONG_VERBS.contains(&self.last_command) {
            self.reject(Reply::new(500, ec(5, 5, 6), "Line too long"));
            return;
        }
        match Command::parse(line) {
            Ok(cmd) => self.on_command(cmd),
            Err(e) => self.reject(e.reply()),
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Ehlo(name) => self.on_hello(name, true),
            Command::Helo(name) => self.on_hello(name, false),
            Command::Mail { from, params } => self.on_mail(from, params),
            Command::Rcpt { to, .. } => self.on_rcpt(to),
            Command::Data => self.on_data_command(),
            Command::Rset => {
                self.tx = None;
                self.push(Reply::ok());
            }
            Command::Noop => self.push(Reply::ok()),
            Command::Quit => self.close_with(Reply::closing(), CloseReason::Quit),
            // RFC 5321 §3.5.3: 252 neither confirms nor denies, so VRFY reveals no users.
            Command::Vrfy(_) => self.push(Reply::new(
                252,
                ec(2, 1, 5),
                "Cannot VRFY user, but will accept message and attempt delivery",
            )),
            Command::Expn(_) | Command::Bdat { .. } => self.reject(Reply::new(
                502,
                ec(5, 5, 1),
                "Error: command not implemented",
            )),
            Command::Help(_) => self.push(help_reply()),
            Command::StartTls => self.on_starttls(),
            Command::Auth { mechanism, initial } => self.on_auth(&mechanism, initial.as_deref()),
        }
    }

    /// RFC 5321 §4.1.4: HELO/EHLO resets any transaction, like RSET. The name is the backend's
    /// to judge (policy `helo` stage) before it is recorded.
    fn on_hello(&mut self, name: String, esmtp: bool) {
        self.tx = None;
        self.actions.push_back(Action::CheckHello(name.clone()));
        self.state = State::Awaiting(Pending::Hello(name, esmtp));
    }

    pub(super) fn on_hello_checked(
        &mut self,
        name: String,
        esmtp: bool,
        verdict: Result<(), Reply>,
    ) {
        self.state = State::Commands;
        if let Err(reply) = verdict {
            self.reject(reply);
            return;
        }
        self.hello = Some(Hello { name, esmtp });
        if esmtp {
            let reply = self.ehlo_reply();
            self.push(reply);
        } else {
            self.push(Reply::new(250, None, self.config.hostname.clone()));
        }
    }

    fn auth_offered(&self) -> bool {
        // Submission offers AUTH only under TLS so passwords never cross the wire in clear.
        self.config.role != Role::Mx && self.tls
    }

    fn ehlo_reply(&self) -> Reply {
        let mut lines = vec![
            self.config.hostname.clone(),
            "PIPELINING".to_owned(),
            format!("SIZE {}", self.config.max_message_size),
            "8BITMIME".to_owned(),
            "SMTPUTF8".to_owned(),
            "ENHANCEDSTATUSCODES".to_owned(),
        ];
        if self.config.starttls && !self.tls {
            lines.push("STARTTLS".to_owned());
        }
        if self.auth_offered() {
            lines.push("AUTH PLAIN LOGIN".to_owned());
        }
        // RFC 2034 §3: no enhanced codes on the EHLO response.
        Reply {
            code: 250,
            enhanced: None,
            lines,
        }
    }

    /// The 530 to send when a role needs AUTH and the client has not authenticated.
    fn auth_required_reply(&self) -> Reply {
        if self.config.role == Role::Submission && !self.tls {
            Reply::new(530, ec(5, 7, 0), "Must issue a STARTTLS command first")
        } else {
            Reply::new(530, ec(5, 7, 0), "Authentication required")
        }
    }

    fn on_mail(&mut self, from: ReversePath, params: MailParams) {
        if self.hello.is_none() {
            return self.reject(Reply::bad_sequence("Error: send HELO/EHLO first"));
        }
        if self.tx.is_some() {
            return self.reject(Reply::bad_sequence("Error: nested MAIL command"));
        }
        if self.config.role.requires_auth() && self.auth_user.is_none() {
            return self.reject(self.auth_required_reply());
        }
        // RFC 1870 §6.2: refuse at MAIL when the declared size is over the limit.
        if params
            .size
            .is_some_and(|s| s > self.config.max_message_size)
        {
            let text = "Message size exceeds fixed maximum message size";
            return self.reject(Reply::new(552, ec(5, 3, 4), text));
        }
        if from.address().is_some_and(Address::is_utf8) && !params.smtputf8 {
            return self.reject(utf8_required());
        }
        self.actions.push_back(Action::CheckSender(from.clone()));
        self.state = State::Awaiting(Pending::Sender(from, params));
    }

    fn on_rcpt(&mut self, to: ForwardPath) {
        let Some(tx) = &self.tx else {
            return self.reject(Reply::bad_sequence("Error: need MAIL command"));
        };
        if tx.rcpts.len() >= self.config.max_recipients {
            // RFC 5321 §4.5.3.1.10: 452, not counted as an error; the client sends the rest later.
            return self.push(Reply::new(452, ec(4, 5, 3), "Error: too many recipients"));
        }
        let smtputf8 = tx.params.smtputf8;
        let rcpt = match to {
            ForwardPath::Mailbox(a) => a,
            ForwardPath::Postmaster => match self.postmaster() {
                Some(a) => a,
                None => return self.reject(Reply::no_such_user("Error: no postmaster here")),
            },
        };
        if rcpt.is_utf8() && !smtputf8 {
            return self.reject(utf8_required());
        }
        self.actions.push_back(Action::CheckRecipient(rcpt.clone()));
        self.state = State::Awaiting(Pending::Recipient(rcpt));
    }

    /// RFC 5321 §4.1.1.3: `<Postmaster>` means the postmaster of this host.
    fn postmaster(&self) -> Option<Address> {
        let domain = Domain::parse(&self.config.hostname, true).ok()?;
        Address::new("postmaster", domain).ok()
    }

    fn on_data_command(&mut self) {
        match &self.tx {
            None => self.reject(Reply::bad_sequence("Error: need MAIL command")),
            Some(tx) if tx.rcpts.is_empty() => {
                // RFC 5321 §3.3: 554 when there are no valid recipients.
                self.reject(Reply::new(554, ec(5, 5, 1), "Error: no valid recipients"))
            }
            Some(_) => {
                self.push(Reply::new(354, None, "End data with <CR><LF>.<CR><LF>"));
                self.state = State::Data(DataPhase {
                    decoder: DataDecoder::new(),
                    body: Vec::new(),
                    oversize: false,
                });
            }
        }
    }

    fn on_starttls(&mut self) {
        if self.tls {
            return self.reject(Reply::bad_sequence("Error: TLS already active"));
        }
        if !self.config.starttls {
            return self.reject(Reply::new(
                502,
                ec(5, 5, 1),
                "Error: command not implemented",
            ));
        }
        self.push(Reply::new(220, ec(2, 0, 0), "Ready to start TLS"));
        self.actions.push_back(Action::StartTls);
        // CVE-2011-0411 class: anything the client sent behind STARTTLS was sent in plaintext
        // and must never be executed as if it came over TLS.
        self.input.clear();
        self.state = State::Tls;
    }

    fn on_auth(&mut self, mechanism: &str, initial: Option<&str>) {
        if self.config.role == Role::Mx {
            return self.reject(Reply::bad_sequence("Error: authentication not enabled"));
        }
        if !self.tls {
            return self.reject(self.auth_required_reply());
        }
        // RFC 4954 §4: AUTH needs EHLO, is allowed once, and not inside a transaction.
        if !self.hello.as_ref().is_some_and(|h| h.esmtp) {
            return self.reject(Reply::bad_sequence("Error: send EHLO first"));
        }
        if self.auth_user.is_some() {
            return self.reject(Reply::bad_sequence("Error: already authenticated"));
        }
        if self.tx.is_some() {
            return self.reject(Reply::bad_sequence("Error: MAIL transaction in progress"));
        }
        let Some(mech) = Mechanism::from_name(mechanism) else {
            let text = "Unrecognized authentication type";
            return self.reject(Reply::new(504, ec(5, 5, 4), text));
        };
        let mut auth = Authenticator::new(mech);
        let step = auth.start(initial);
        self.on_sasl_step(auth, mech, step);
    }

    fn on_sasl_line(&mut self, line: &[u8]) {
        let State::Sasl(mut auth, mech) = std::mem::replace(&mut self.state, State::Commands)
        else {
            return;
        };
        let step = match std::str::from_utf8(line) {
            Ok(text) => auth.step(text),
            Err(_) => Err(SaslError::BadBase64),
        };
        self.on_sasl_step(auth, mech, step);
    }

    fn on_sasl_step(
        &mut self,
        auth: Authenticator,
        mech: Mechanism,
        step: Result<Step, SaslError>,
    ) {
        self.state = State::Commands;
        match step {
            Ok(Step::Challenge(c)) => {
                self.push(Reply::new(334, None, calm_sasl::encode(&c)));
                self.state = State::Sasl(auth, mech);
            }
            Ok(Step::Done(credentials)) => {
                self.actions.push_back(Action::Authenticate {
                    mechanism: mech,
                    credentials,
                });
                self.state = State::Awaiting(Pending::Auth);
            }
            // RFC 4954 §4: a cancelled exchange is answered with 501.
            Err(SaslError::Cancelled) => {
                self.reject(Reply::new(501, ec(5, 7, 0), "Authentication cancelled"))
            }
            Err(SaslError::AuthzidMismatch) => self.on_auth_checked(None),
            Err(e) => self.reject(Reply::new(501, ec(5, 5, 2), format!("Error: {e}"))),
        }
    }

    /// Leaves an AUTH exchange (e.g. after an overlong response line).
    fn abort_sasl(&mut self) {
        if matches!(self.state, State::Sasl(..)) {
            self.state = State::Commands;
        }
    }

    pub(super) fn on_sender_checked(
        &mut self,
        from: ReversePath,
        params: MailParams,
        verdict: Result<(), Reply>,
    ) {
        self.state = State::Commands;
        match verdict {
            Ok(()) => {
                self.tx = Some(Transaction {
                    from,
                    params,
                    rcpts: Vec::new(),
                });
                self.push(Reply::new(250, ec(2, 1, 0), "Ok"));
            }
            Err(reply) => self.reject(reply),
        }
    }

    pub(super) fn on_recipient_checked(&mut self, rcpt: Address, verdict: RcptVerdict) {
        self.state = State::Commands;
        match (verdict, &mut self.tx) {
            (RcptVerdict::Accept, Some(tx)) => {
                tx.rcpts.push(rcpt);
                self.push(Reply::new(250, ec(2, 1, 5), "Ok"));
            }
            (RcptVerdict::Reject(reply), _) => self.reject(reply),
            (RcptVerdict::Accept, None) => {
                self.reject(Reply::bad_sequence("Error: need MAIL command"))
            }
        }
    }

    pub(super) fn on_auth_checked(&mut self, user: Option<String>) {
        self.state = State::Commands;
        if let Some(user) = user {
            self.auth_user = Some(user);
            return self.push(Reply::new(235, ec(2, 7, 0), "Authentication successful"));
        }
        self.auth_failures = self.auth_failures.saturating_add(1);
        self.reject(Reply::new(
            535,
            ec(5, 7, 8),
            "Authentication credentials invalid",
        ));
        if self.auth_failures >= self.config.max_auth_failures && !self.is_closed() {
            let text = format!(
                "{} Error: too many authentication failures",
                self.config.hostname
            );
            self.close_with(
                Reply::new(421, ec(4, 7, 0), text),
                CloseReason::TooManyAuthFailures,
            );
        }
    }
}

/// RFC 6531 §3.5: a non-ASCII address without SMTPUTF8.
fn utf8_required() -> Reply {
    Reply::new(553, ec(5, 6, 7), "Non-ASCII address requires SMTPUTF8")
}

fn help_reply() -> Reply {
    Reply {
        code: 214,
        enhanced: ec(2, 0, 0),
        lines: vec![
            "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH".to_owned(),
            "See RFC 5321".to_owned(),
        ],
    }
}

//! Command handling per state: AUTHORIZATION (RFC 1939 §4, §7; RFC 2595 §4; RFC 5034 §4)
//! and TRANSACTION (RFC 1939 §5, §7).

use calm_sasl::{Authenticator, Credentials, Mechanism, SaslError, Step};

use super::{Action, AuthMethod, Entry, Pending, Role, Session, State};
use crate::command::Command;
use crate::line::LineError;
use crate::reply::{self, RespCode};

/// The SASL mechanisms offered (RFC 5034 §4).
const MECHANISMS: [Mechanism; 2] = [Mechanism::Plain, Mechanism::Login];
/// RFC 2595 §2.2 / RFC 3206 §5: why plaintext credentials are refused before TLS.
const PLAINTEXT_REFUSED: &str = "Plaintext authentication disallowed on non-secure connections";

impl Session {
    pub(super) fn dispatch(&mut self, command: Command) {
        match (&self.state, command) {
            (_, Command::Capa) => self.send(self.capabilities()),
            (_, Command::Noop) => self.send(reply::ok("")),
            (State::Authorization { .. }, command) => self.authorization(command),
            (State::Transaction, command) => self.transaction(command),
            _ => {}
        }
    }

    /// RFC 2449 §5 CAPA. USER and SASL appear only where they would be accepted (RFC 2595
    /// §4: a server that refuses plaintext passwords does not announce USER), STLS only
    /// before TLS and before login.
    fn capabilities(&self) -> Vec<u8> {
        let mut caps = vec![
            "CAPA",
            "TOP",
            "UIDL",
            "RESP-CODES",
            "AUTH-RESP-CODE",
            "PIPELINING",
        ];
        let sasl = format!("SASL {}", MECHANISMS.map(Mechanism::name).join(" "));
        if self.plaintext_allowed() {
            caps.push("USER");
            caps.push(&sasl);
        }
        let authorization = matches!(self.state, State::Authorization { .. });
        if authorization && !self.tls && self.config.role == Role::Pop3 {
            caps.push("STLS");
        }
        caps.push("IMPLEMENTATION calm");
        reply::multiline("Capability list follows", caps)
    }

    fn plaintext_allowed(&self) -> bool {
        self.tls || self.config.allow_plaintext_auth
    }

    fn authorization(&mut self, command: Command) {
        let pending_user = match &mut self.state {
            State::Authorization { user } => user.take(),
            _ => None,
        };
        match command {
            Command::User(_) | Command::Pass(_) | Command::Auth { .. }
                if !self.plaintext_allowed() =>
            {
                self.send(reply::err(Some(RespCode::Auth), PLAINTEXT_REFUSED));
            }
            Command::User(name) => {
                self.state = State::Authorization { user: Some(name) };
                self.send(reply::ok(""));
            }
            Command::Pass(password) => match pending_user {
                Some(username) => {
                    self.authenticate(AuthMethod::UserPass, Credentials { username, password })
                }
                None => self.protocol_error("No user name given; send USER first"),
            },
            Command::Auth { mechanism, initial } => self.auth(mechanism, initial),
            Command::Stls => self.stls(),
            Command::Quit => {
                self.send(reply::ok("Logging out."));
                self.close(super::CloseReason::Quit);
            }
            other => self.protocol_error(&format!(
                "{} is not valid before authentication",
                other.name()
            )),
        }
    }

    fn authenticate(&mut self, method: AuthMethod, credentials: Credentials) {
        self.actions.push_back(Action::Authenticate {
            method,
            credentials,
        });
        self.state = State::Awaiting(Pending::Auth);
    }

    /// RFC 2595 §4: `+OK`, then TLS; anything the client pipelined behind STLS is dropped.
    fn stls(&mut self) {
        if self.tls {
            return self.protocol_error("TLS is already active");
        }
        self.send(reply::ok("Begin TLS negotiation now."));
        self.reader.clear();
        self.actions.push_back(Action::StartTls);
        self.state = State::Tls;
    }

    /// RFC 5034 §4 AUTH; without a mechanism, the mechanisms are listed (a common extension
    /// that some clients probe with).
    fn auth(&mut self, mechanism: Option<String>, initial: Option<String>) {
        let Some(name) = mechanism else {
            return self.send(reply::multiline("", MECHANISMS.map(Mechanism::name)));
        };
        let Some(mechanism) = Mechanism::from_name(&name) else {
            return self.send(reply::err(None, "Unsupported authentication mechanism"));
        };
        let mut authenticator = Authenticator::new(mechanism);
        let step = authenticator.start(initial.as_deref());
        self.sasl_step(authenticator, mechanism, step);
    }

    pub(super) fn sasl_line(&mut self, line: Result<Vec<u8>, LineError>) {
        let State::Sasl(mut authenticator, mechanism) =
            std::mem::replace(&mut self.state, State::Authorization { user: None })
        else {
            return;
        };
        let step = match line.map(String::from_utf8) {
            Ok(Ok(text)) => authenticator.step(&text),
            Ok(Err(_)) => Err(SaslError::NotUtf8),
            Err(LineError::TooLong) => Err(SaslError::Malformed(mechanism)),
        };
        self.sasl_step(authenticator, mechanism, step);
    }

    fn sasl_step(
        &mut self,
        authenticator: Authenticator,
        mechanism: Mechanism,
        step: Result<Step, SaslError>,
    ) {
        match step {
            // RFC 5034 §4: a challenge is "+" SP base64.
            Ok(Step::Challenge(challenge)) => {
                let line = format!("+ {}\r\n", calm_sasl::encode(&challenge));
                self.send(line.into_bytes());
                self.state = State::Sasl(authenticator, mechanism);
            }
            Ok(Step::Done(credentials)) => {
                self.authenticate(AuthMethod::Sasl(mechanism), credentials)
            }
            Err(SaslError::Cancelled) => {
                self.state = State::Authorization { user: None };
                self.send(reply::err(None, "Authentication cancelled"));
            }
            Err(e) => self.auth_failed(&format!("Authentication failed: {e}")),
        }
    }

    fn transaction(&mut self, command: Command) {
        match command {
            Command::Stat => {
                let (count, octets) = self
                    .live()
                    .fold((0, 0u64), |(n, o), (_, e)| (n + 1, o + e.listing.octets));
                self.send(reply::ok(&format!("{count} {octets}")));
            }
            Command::List(n) => self.scan_listing(n, |e| e.listing.octets.to_string()),
            Command::Uidl(n) => self.scan_listing(n, |e| e.listing.uidl.clone()),
            Command::Retr(n) => self.retrieve(n, None),
            Command::Top(n, lines) => self.retrieve(n, Some(lines)),
            Command::Dele(n) => self.dele(n),
            Command::Rset => {
                for entry in &mut self.messages {
                    entry.deleted = false;
                }
                let count = self.messages.len();
                self.send(reply::ok(&format!("{count} messages")));
            }
            Command::Quit => self.update(),
            Command::Stls => self.protocol_error("STLS is only valid before authentication"),
            other => self.protocol_error(&format!(
                "{} is not valid after authentication",
                other.name()
            )),
        }
    }

    /// Messages not marked as deleted, with their 1-based numbers.
    fn live(&self) -> impl Iterator<Item = (usize, &Entry)> {
        self.messages
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.deleted)
            .map(|(i, e)| (i + 1, e))
    }

    /// The 0-based index of message `n`, if it exists and is not deleted.
    fn index(&self, n: u32) -> Option<usize> {
        let index = usize::try_from(n).ok()?.checked_sub(1)?;
        self.messages
            .get(index)
            .filter(|e| !e.deleted)
            .map(|_| index)
    }

    /// LIST and UIDL: one message (`+OK n value`) or all (multi-line).
    fn scan_listing(&mut self, n: Option<u32>, value: impl Fn(&Entry) -> String) {
        let out = match n {
            Some(n) => match self.index(n).and_then(|i| self.messages.get(i)) {
                Some(entry) => reply::ok(&format!("{n} {}", value(entry))),
                None => reply::err(None, "No such message"),
            },
            None => {
                let lines: Vec<String> = self
                    .live()
                    .map(|(i, e)| format!("{i} {}", value(e)))
                    .collect();
                reply::multiline(&format!("{} messages", lines.len()), lines)
            }
        };
        self.send(out);
    }

    fn retrieve(&mut self, n: u32, top: Option<u32>) {
        let Some(index) = self.index(n) else {
            return self.send(reply::err(None, "No such message"));
        };
        let id = self
            .messages
            .get(index)
            .map(|e| e.listing.id)
            .unwrap_or_default();
        self.actions.push_back(Action::Retrieve { id });
        self.state = State::Awaiting(Pending::Retrieve { index, top });
    }

    fn dele(&mut self, n: u32) {
        match self.index(n).and_then(|i| self.messages.get_mut(i)) {
            Some(entry) => {
                entry.deleted = true;
                self.send(reply::ok("Marked to be deleted."));
            }
            None => self.send(reply::err(None, "No such message")),
        }
    }

    /// RFC 1939 §6: QUIT in TRANSACTION enters UPDATE; only now is anything removed.
    fn update(&mut self) {
        let delete = self
            .messages
            .iter()
            .filter(|e| e.deleted)
            .map(|e| e.listing.id)
            .collect();
        let seen = self
            .messages
            .iter()
            .filter(|e| e.retrieved && !e.deleted)
            .map(|e| e.listing.id)
            .collect();
        self.actions.push_back(Action::Update { delete, seen });
        self.state = State::Awaiting(Pending::Update);
    }
}

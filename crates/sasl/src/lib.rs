//! # Brief overview
//!
//! `calm-sasl` runs the server side of the SASL mechanisms calm offers, PLAIN (RFC 4616) and
//! LOGIN (draft-murchison-sasl-login), as small sans-IO state machines. The protocol layer
//! (SMTP `AUTH`, later IMAP `AUTHENTICATE` and POP3 `AUTH`) feeds it client lines and relays the
//! challenges it returns; at the end it yields [`Credentials`] for the account store to check.
//!
//! Key types: [`Mechanism`], [`Authenticator`] (the machine), [`Step`] (what to do next),
//! [`Credentials`] and [`SaslError`].
//!
//! It deliberately does not verify passwords, count failures, or know any protocol's reply
//! codes or framing (`334 `, `+ `): those belong to the account store and the protocol servers.
//! Challenges are raw bytes; [`encode`] turns them into the base64 text the wire carries.
//!
//! ```
//! use calm_sasl::{Authenticator, Mechanism, Step};
//!
//! let mut auth = Authenticator::new(Mechanism::Plain);
//! // "\0bob\0secret", as sent with `AUTH PLAIN AGJvYgBzZWNyZXQ=`.
//! let Step::Done(creds) = auth.start(Some("AGJvYgBzZWNyZXQ="))? else { unreachable!() };
//! assert_eq!((creds.username.as_str(), creds.password.as_str()), ("bob", "secret"));
//! # Ok::<(), calm_sasl::SaslError>(())
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Standard alphabet; padding optional on input because some clients omit it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The LOGIN mechanism's prompts, sent (base64-encoded) as "VXNlcm5hbWU6" and "UGFzc3dvcmQ6".
const LOGIN_USERNAME_PROMPT: &[u8] = b"Username:";
const LOGIN_PASSWORD_PROMPT: &[u8] = b"Password:";

/// A SASL mechanism calm implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// RFC 4616 PLAIN: one message `authzid NUL authcid NUL passwd`.
    Plain,
    /// LOGIN: username and password in answer to two prompts.
    Login,
}

impl Mechanism {
    /// Looks a mechanism up by its (case-insensitive, RFC 4422 §3.1) name.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        if name.eq_ignore_ascii_case("PLAIN") {
            Some(Mechanism::Plain)
        } else if name.eq_ignore_ascii_case("LOGIN") {
            Some(Mechanism::Login)
        } else {
            None
        }
    }

    /// The registered name, uppercase.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the client proved it knows. `Debug` never prints the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The authentication identity (RFC 4616 authcid).
    pub username: String,
    /// The password, to be checked and dropped.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The next thing the protocol layer must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this challenge (base64-encode it with [`encode`]) and feed back the client's answer.
    Challenge(Vec<u8>),
    /// The exchange is complete: check these credentials.
    Done(Credentials),
}

/// Why an exchange failed. Every variant ends the exchange.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The client sent `*` (RFC 4422 §3.4; RFC 4954 §4 answers 501).
    #[error("authentication cancelled by the client")]
    Cancelled,
    /// The response was not valid base64.
    #[error("response is not valid base64")]
    BadBase64,
    /// The decoded response was not UTF-8 (RFC 4616 §2 requires UTF-8).
    #[error("response is not valid UTF-8")]
    NotUtf8,
    /// The decoded response did not have the mechanism's shape.
    #[error("malformed {0} response")]
    Malformed(Mechanism),
    /// RFC 4616 §2: an authorization identity other than the user's own; calm does not
    /// support acting on behalf of another user.
    #[error("authorization identity differs from authentication identity")]
    AuthzidMismatch,
    /// `start`/`step` called on an exchange that has already ended.
    #[error("authentication exchange already finished")]
    Finished,
}

#[derive(Debug, Clone)]
enum State {
    New(Mechanism),
    PlainAwaiting,
    LoginUsername,
    LoginPassword { username: String },
    Finished,
}

/// The server side of one SASL exchange.
#[derive(Debug, Clone)]
pub struct Authenticator {
    state: State,
}

impl Authenticator {
    /// A fresh exchange for `mechanism`.
    pub fn new(mechanism: Mechanism) -> Authenticator {
        Authenticator {
            state: State::New(mechanism),
        }
    }

    /// Starts the exchange, with the initial response if the client sent one on the command line
    /// (RFC 4954 §4: `=` stands for an empty initial response).
    pub fn start(&mut self, initial: Option<&str>) -> Result<Step, SaslError> {
        let State::New(mechanism) = std::mem::replace(&mut self.state, State::Finished) else {
            return Err(SaslError::Finished);
        };
        match (mechanism, initial) {
            (Mechanism::Plain, None) => {
                self.state = State::PlainAwaiting;
                // RFC 4616 §2: the server sends an empty challenge when there is no initial response.
                Ok(Step::Challenge(Vec::new()))
            }
            (Mechanism::Plain, Some(line)) => finish_plain(&decode_line(line)?),
            (Mechanism::Login, None) => {
                self.state = State::LoginUsername;
                Ok(Step::Challenge(LOGIN_USERNAME_PROMPT.to_vec()))
            }
            // Many clients send the username as an initial response to LOGIN.
            (Mechanism::Login, Some(line)) => {
                self.state = State::LoginUsername;
                self.step(line)
            }
        }
    }

    /// Feeds one client response line (base64 without CRLF, or `*` to cancel).
    pub fn step(&mut self, line: &str) -> Result<Step, SaslError> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::PlainAwaiting => finish_plain(&decode_line(line)?),
            State::LoginUsername => {
                let username = utf8(decode_line(line)?)?;
                if username.is_empty() {
                    return Err(SaslError::Malformed(Mechanism::Login));
                }
                self.state = State::LoginPassword { username };
                Ok(Step::Challenge(LOGIN_PASSWORD_PROMPT.to_vec()))
            }
            State::LoginPassword { username } => Ok(Step::Done(Credentials {
                username,
                password: utf8(decode_line(line)?)?,
            })),
            State::New(_) | State::Finished => Err(SaslError::Finished),
        }
    }

    /// True once the exchange has produced credentials or failed.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }
}

/// Base64-encodes a challenge for the wire (`334 <this>` in SMTP, `+ <this>` in IMAP).
pub fn encode(challenge: &[u8]) -> String {
    BASE64.encode(challenge)
}

/// Decodes one client line; `*` cancels and `=` is the empty response (RFC 4954 §4).
fn decode_line(line: &str) -> Result<Vec<u8>, SaslError> {
    match line.trim_end_matches([' ', '\t']) {
        "*" => Err(SaslError::Cancelled),
        "=" => Ok(Vec::new()),
        text => BASE64.decode(text).map_err(|_| SaslError::BadBase64),
    }
}

fn utf8(bytes: Vec<u8>) -> Result<String, SaslError> {
    String::from_utf8(bytes).map_err(|_| SaslError::NotUtf8)
}

/// RFC 4616 §2: `message = [authzid] UTF8NUL authcid UTF8NUL passwd`.
fn finish_plain(message: &[u8]) -> Result<Step, SaslError> {
    let malformed = SaslError::Malformed(Mechanism::Plain);
    let text = std::str::from_utf8(message).map_err(|_| SaslError::NotUtf8)?;
    let mut parts = text.split('\0');
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed);
    };
    if authcid.is_empty() || password.is_empty() {
        return Err(malformed);
    }
    if !authzid.is_empty() && authzid != authcid {
        return Err(SaslError::AuthzidMismatch);
    }
    Ok(Step::Done(Credentials {
        username: authcid.to_owned(),
        password: password.to_owned(),
    }))
}

#[cfg(test)]
mod tests;

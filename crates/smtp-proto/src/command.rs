//! [`Command`]: one SMTP command line parsed (RFC 5321 §4.1.1, with RFC 1870, 6152, 6531, 3207, 4954).

use std::fmt;

use calm_mail_types::{Address, AddressError, ReversePath};

use crate::reply::{EnhancedCode, Reply};

/// A parsed command. Verbs are case-insensitive (RFC 5321 §2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `EHLO <domain or address literal>` (RFC 5321 §4.1.1.1).
    Ehlo(String),
    /// `HELO <domain>`.
    Helo(String),
    /// `MAIL FROM:<reverse-path> [params]` (RFC 5321 §4.1.1.2).
    Mail {
        /// The sender, or `<>`.
        from: ReversePath,
        /// ESMTP parameters.
        params: MailParams,
    },
    /// `RCPT TO:<forward-path> [params]` (RFC 5321 §4.1.1.3).
    Rcpt {
        /// The recipient.
        to: ForwardPath,
        /// ESMTP parameters.
        params: RcptParams,
    },
    /// `DATA`.
    Data,
    /// `RSET`.
    Rset,
    /// `NOOP [string]` (the argument is ignored, RFC 5321 §4.1.1.9).
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY <string>`.
    Vrfy(String),
    /// `EXPN <string>`.
    Expn(String),
    /// `HELP [string]`.
    Help(Option<String>),
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH <mechanism> [initial-response]` (RFC 4954 §4).
    Auth {
        /// The SASL mechanism name, uppercased.
        mechanism: String,
        /// The initial response, still base64 (`=` for empty).
        initial: Option<String>,
    },
    /// `BDAT <size> [LAST]` (RFC 3030). Parsed so it can be refused precisely.
    Bdat {
        /// Chunk size in octets.
        size: u64,
        /// `LAST` was given.
        last: bool,
    },
}

/// The argument of `RCPT TO:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardPath {
    /// `<Postmaster>` without a domain: RFC 5321 §4.1.1.3 requires accepting it.
    Postmaster,
    /// A mailbox.
    Mailbox(Address),
}

/// RFC 6152 `BODY=` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyType {
    /// `BODY=7BIT`.
    SevenBit,
    /// `BODY=8BITMIME`.
    EightBitMime,
}

/// Parameters of `MAIL FROM`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailParams {
    /// RFC 1870 `SIZE=`: the client's size estimate.
    pub size: Option<u64>,
    /// RFC 6152 `BODY=`.
    pub body: Option<BodyType>,
    /// RFC 6531 `SMTPUTF8`.
    pub smtputf8: bool,
}

/// Parameters of `RCPT TO` (none are supported yet; DSN's NOTIFY/ORCPT are refused).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RcptParams {}

/// Why a command line was refused. [`SyntaxError::reply`] gives the exact answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyntaxError {
    /// An empty line.
    #[error("empty command line")]
    Empty,
    /// The line is not UTF-8.
    #[error("command line is not valid UTF-8")]
    NotUtf8,
    /// A verb we do not know.
    #[error("unknown command")]
    UnknownCommand,
    /// The arguments do not match the command's syntax; carries the usage text.
    #[error("syntax error, expected: {0}")]
    BadArguments(&'static str),
    /// The `MAIL FROM` address does not parse.
    #[error("bad sender address syntax: {0}")]
    BadSender(AddressError),
    /// The `RCPT TO` address does not parse.
    #[error("bad recipient address syntax: {0}")]
    BadRecipient(AddressError),
    /// A malformed parameter, bad value or a repeated parameter.
    #[error("bad parameter {0}")]
    BadParameter(String),
    /// A parameter that is well-formed but not supported (RFC 5321 §4.1.1.11: 555).
    #[error("unsupported parameter {0}")]
    UnsupportedParameter(String),
}

impl SyntaxError {
    /// The reply to send for this error.
    pub fn reply(&self) -> Reply {
        let ec = |c, s, d| Some(EnhancedCode::new(c, s, d));
        match self {
            SyntaxError::Empty | SyntaxError::NotUtf8 => {
                Reply::new(500, ec(5, 5, 2), "Error: bad syntax")
            }
            SyntaxError::UnknownCommand => {
                Reply::new(500, ec(5, 5, 1), "Error: command not recognized")
            }
            SyntaxError::BadArguments(usage) => {
                Reply::new(501, ec(5, 5, 4), format!("Syntax: {usage}"))
            }
            SyntaxError::BadSender(e) => {
                Reply::new(501, ec(5, 1, 7), format!("Bad sender address syntax: {e}"))
            }
            SyntaxError::BadRecipient(e) => Reply::new(
                501,
                ec(5, 1, 3),
                format!("Bad recipient address syntax: {e}"),
            ),
            SyntaxError::BadParameter(p) => {
                Reply::new(501, ec(5, 5, 4), format!("Bad parameter: {p}"))
            }
            SyntaxError::UnsupportedParameter(p) => {
                Reply::new(555, ec(5, 5, 4), format!("Unsupported parameter: {p}"))
            }
        }
    }
}

impl Command {
    /// Parses one command line, without its CRLF.
    pub fn parse(line: &[u8]) -> Result<Command, SyntaxError> {
        let line = std::str::from_utf8(line).map_err(|_| SyntaxError::NotUtf8)?;
        // Trailing spaces are common from hand-typed sessions and harmless.
        let line = line.trim_end_matches(' ');
        if line.is_empty() {
            return Err(SyntaxError::Empty);
        }
        let (verb, args) = match line.split_once(' ') {
            Some((v, a)) => (v, a.trim_start_matches(' ')),
            None => (line, ""),
        };
        let verb = verb.to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => hello_arg(args, "EHLO hostname").map(Command::Ehlo),
            "HELO" => hello_arg(args, "HELO hostname").map(Command::Helo),
            "MAIL" => parse_mail(args),
            "RCPT" => parse_rcpt(args),
            "DATA" => no_args(args, Command::Data, "DATA"),
            "RSET" => no_args(args, Command::Rset, "RSET"),
            "QUIT" => no_args(args, Command::Quit, "QUIT"),
            "STARTTLS" => no_args(args, Command::StartTls, "STARTTLS"),
            "NOOP" => Ok(Command::Noop),
            "VRFY" => required(args, "VRFY address").map(Command::Vrfy),
            "EXPN" => required(args, "EXPN mailing-list").map(Command::Expn),
            "HELP" => Ok(Command::Help((!args.is_empty()).then(|| args.to_owned()))),
            "AUTH" => parse_auth(args),
            "BDAT" => parse_bdat(args),
            _ => Err(SyntaxError::UnknownCommand),
        }
    }

    /// The verb, uppercase, for logs and events.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Ehlo(_) => "EHLO",
            Command::Helo(_) => "HELO",
            Command::Mail { .. } => "MAIL",
            Command::Rcpt { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
            Command::Vrfy(_) => "VRFY",
            Command::Expn(_) => "EXPN",
            Command::Help(_) => "HELP",
            Command::StartTls => "STARTTLS",
            Command::Auth { .. } => "AUTH",
            Command::Bdat { .. } => "BDAT",
        }
    }
}

fn no_args(args: &str, cmd: Command, usage: &'static str) -> Result<Command, SyntaxError> {
    if args.is_empty() {
        Ok(cmd)
    } else {
        Err(SyntaxError::BadArguments(usage))
    }
}

fn required(args: &str, usage: &'static str) -> Result<String, SyntaxError> {
    if args.is_empty() {
        Err(SyntaxError::BadArguments(usage))
    } else {
        Ok(args.to_owned())
    }
}

/// RFC 5321 §4.1.1.1: the client's name. Checked only for being printable here; whether it is
/// a sane name is a policy question for later stages.
fn hello_arg(args: &str, usage: &'static str) -> Result<String, SyntaxError> {
    let name = args.split(' ').next().unwrap_or_default();
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(SyntaxError::BadArguments(usage));
    }
    Ok(name.to_owned())
}

/// Splits `<path> params` into the inside of the brackets and the parameter text.
/// The path ends at the first `>` outside a quoted string (so `<"a>b"@x>` works).
fn split_path(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix('<')?;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '>' if !quoted => {
                let rest = inner.get(i + 1..)?;
                if !rest.is_empty() && !rest.starts_with(' ') {
                    return None;
                }
                return Some((inner.get(..i)?, rest));
            }
            _ => {}
        }
    }
    None
}

/// Strips `keyword:` (case-insensitive) and any spaces after it (a common client quirk).
fn strip_keyword<'a>(args: &'a str, keyword: &str) -> Option<&'a str> {
    let head = args.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| args.get(keyword.len()..))
        .flatten()
        .map(|r| r.trim_start_matches(' '))
}

const MAIL_USAGE: &str = "MAIL FROM:<address>";
const RCPT_USAGE: &str = "RCPT TO:<address>";

fn parse_mail(args: &str) -> Result<Command, SyntaxError> {
    let rest = strip_keyword(args, "FROM:").ok_or(SyntaxError::BadArguments(MAIL_USAGE))?;
    let (path, params) = split_path(rest).ok_or(SyntaxError::BadArguments(MAIL_USAGE))?;
    let params = parse_mail_params(params)?;
    // UTF-8 is always parsed here; the session refuses it without SMTPUTF8 (553 5.6.7).
    let from = ReversePath::parse(path, true).map_err(SyntaxError::BadSender)?;
    Ok(Command::Mail { from, params })
}

fn parse_rcpt(args: &str) -> Result<Command, SyntaxError> {
    let rest = strip_keyword(args, "TO:").ok_or(SyntaxError::BadArguments(RCPT_USAGE))?;
    let (path, params) = split_path(rest).ok_or(SyntaxError::BadArguments(RCPT_USAGE))?;
    let params = parse_rcpt_params(params)?;
    let to = if path.eq_ignore_ascii_case("postmaster") {
        ForwardPath::Postmaster
    } else {
        ForwardPath::Mailbox(Address::parse(path, true).map_err(SyntaxError::BadRecipient)?)
    };
    Ok(Command::Rcpt { to, params })
}

/// RFC 5321 §4.1.2 `esmtp-param = esmtp-keyword ["=" esmtp-value]`.
fn esmtp_params(text: &str) -> Result<Vec<(String, Option<&str>)>, SyntaxError> {
    let mut out: Vec<(String, Option<&str>)> = Vec::new();
    for param in text.split(' ').filter(|p| !p.is_empty()) {
        let (key, value) = match param.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (param, None),
        };
        let key_ok = key
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && key.len() <= 32;
        // esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 under RFC 6531 §3.3.
        let value_ok = value.is_none_or(|v| {
            !v.is_empty() && v.chars().all(|c| c != '=' && !c.is_control() && c != ' ')
        });
        if !key_ok || !value_ok {
            return Err(SyntaxError::BadParameter(printable_prefix(param)));
        }
        let key = key.to_ascii_uppercase();
        if out.iter().any(|(k, _)| *k == key) {
            return Err(SyntaxError::BadParameter(key));
        }
        out.push((key, value));
    }
    Ok(out)
}

/// At most 32 characters of client text, for an error reply.
fn printable_prefix(s: &str) -> String {
    s.chars().take(32).collect()
}

fn parse_mail_params(text: &str) -> Result<MailParams, SyntaxError> {
    let mut params = MailParams::default();
    for (key, value) in esmtp_params(text)? {
        let bad = || SyntaxError::BadParameter(key.clone());
        match (key.as_str(), value) {
            // RFC 1870 §3: size-value = 1*20DIGIT.
            ("SIZE", Some(v)) if v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()) => {
                params.size = Some(v.parse().unwrap_or(u64::MAX));
            }
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("7BIT") => {
                params.body = Some(BodyType::SevenBit)
            }
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("8BITMIME") => {
                params.body = Some(BodyType::EightBitMime)
            }
            // BINARYMIME needs CHUNKING, which is not offered.
            ("BODY", Some(_)) => return Err(SyntaxError::UnsupportedParameter(key)),
            ("SMTPUTF8", None) => params.smtputf8 = true,
            // RFC 4954 §5: the AUTH parameter may be ignored by a server that does not trust it.
            ("AUTH", Some(_)) => {}
            ("SIZE" | "BODY" | "SMTPUTF8" | "AUTH", _) => return Err(bad()),
            // DSN (RFC 3461) RET/ENVID and anything else: not advertised, so refused.
            _ => return Err(SyntaxError::UnsupportedParameter(key)),
        }
    }
    Ok(params)
}

fn parse_rcpt_params(text: &str) -> Result<RcptParams, SyntaxError> {
    // DSN's NOTIFY/ORCPT and anything else: not advertised, so refused with 555.
    match esmtp_params(text)?.into_iter().next() {
        Some((key, _)) => Err(SyntaxError::UnsupportedParameter(key)),
        None => Ok(RcptParams {}),
    }
}

const AUTH_USAGE: &str = "AUTH mechanism [initial-response]";

fn parse_auth(args: &str) -> Result<Command, SyntaxError> {
    let mut it = args.split(' ').filter(|s| !s.is_empty());
    let mechanism = it.next().ok_or(SyntaxError::BadArguments(AUTH_USAGE))?;
    let initial = it.next();
    // RFC 4422 §3.1: sasl-mech = 1*20(UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE).
    let mech_ok = mechanism.len() <= 20
        && mechanism
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let initial_ok = initial.is_none_or(|i| {
        i.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
    });
    if it.next().is_some() || !mech_ok || !initial_ok {
        return Err(SyntaxError::BadArguments(AUTH_USAGE));
    }
    Ok(Command::Auth {
        mechanism: mechanism.to_ascii_uppercase(),
        initial: initial.map(str::to_owned),
    })
}

fn parse_bdat(args: &str) -> Result<Command, SyntaxError> {
    const USAGE: &str = "BDAT size [LAST]";
    let mut it = args.split(' ').filter(|s| !s.is_empty());
    let size = it
        .next()
        .filter(|s| s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or(SyntaxError::BadArguments(USAGE))?;
    let last = match it.next() {
        None => false,
        Some(l) if l.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return Err(SyntaxError::BadArguments(USAGE)),
    };
    if it.next().is_some() {
        return Err(SyntaxError::BadArguments(USAGE));
    }
    Ok(Command::Bdat { size, last })
}

impl fmt::Display for ForwardPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardPath::Postmaster => f.write_str("<Postmaster>"),
            ForwardPath::Mailbox(a) => write!(f, "<{a}>"),
        }
    }
}

impl fmt::Display for MailParams {
    /// The parameters, each preceded by a space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(size) = self.size {
            write!(f, " SIZE={size}")?;
        }
        match self.body {
            Some(BodyType::SevenBit) => f.write_str(" BODY=7BIT")?,
            Some(BodyType::EightBitMime) => f.write_str(" BODY=8BITMIME")?,
            None => {}
        }
        if self.smtputf8 {
            f.write_str(" SMTPUTF8")?;
        }
        Ok(())
    }
}

impl fmt::Display for Command {
    /// The canonical wire form (without CRLF); parsing it gives back an equal command.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Ehlo(h) | Command::Helo(h) => write!(f, "{} {h}", self.verb()),
            Command::Mail { from, params } => write!(f, "MAIL FROM:{from}{params}"),
            Command::Rcpt { to, .. } => write!(f, "RCPT TO:{to}"),
            Command::Vrfy(a) | Command::Expn(a) => write!(f, "{} {a}", self.verb()),
            Command::Help(Some(a)) => write!(f, "HELP {a}"),
            Command::Auth { mechanism, initial } => {
                write!(f, "AUTH {mechanism}")?;
                initial.as_ref().map_or(Ok(()), |i| write!(f, " {i}"))
            }
            Command::Bdat { size, last } => {
                write!(f, "BDAT {size}{}", if *last { " LAST" } else { "" })
            }
            _ => f.write_str(self.verb()),
        }
    }
}

#[cfg(test)]
mod tests;

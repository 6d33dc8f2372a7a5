//! [`Command`]: one parsed POP3 command line (RFC 1939 §3, RFC 2449, RFC 2595, RFC 5034).

/// A POP3 command. Message numbers are 1-based as on the wire.
#[derive(Clone, PartialEq, Eq)]
pub enum Command {
    /// `USER name` (RFC 1939 §7).
    User(String),
    /// `PASS password`; the rest of the line, spaces included (RFC 1939 §7).
    Pass(String),
    /// `AUTH [mechanism [initial-response]]` (RFC 5034 §4).
    Auth {
        /// The mechanism, if given (without one, the mechanisms are listed).
        mechanism: Option<String>,
        /// The initial response (`=` means empty).
        initial: Option<String>,
    },
    /// `CAPA` (RFC 2449 §5).
    Capa,
    /// `STLS` (RFC 2595 §4).
    Stls,
    /// `STAT`.
    Stat,
    /// `LIST [msg]`.
    List(Option<u32>),
    /// `UIDL [msg]`.
    Uidl(Option<u32>),
    /// `RETR msg`.
    Retr(u32),
    /// `TOP msg n`.
    Top(u32, u32),
    /// `DELE msg`.
    Dele(u32),
    /// `RSET`.
    Rset,
    /// `NOOP`.
    Noop,
    /// `QUIT`.
    Quit,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // Never print a password (or a SASL response, which contains one).
            Command::Pass(_) => f.write_str("Pass(<redacted>)"),
            Command::Auth { mechanism, initial } => f
                .debug_struct("Auth")
                .field("mechanism", mechanism)
                .field("initial", &initial.as_ref().map(|_| "<redacted>"))
                .finish(),
            Command::User(u) => f.debug_tuple("User").field(u).finish(),
            other => f.write_str(other.name()),
        }
    }
}

/// Why a line is not a command; each maps to a `-ERR` reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// Not a command this server knows (APOP included: calm stores no plaintext passwords).
    #[error("Unknown command")]
    Unknown,
    /// Bytes that are not UTF-8, or control characters.
    #[error("Invalid characters in command")]
    BadCharacters,
    /// Arguments missing, extra or malformed; the text says which.
    #[error("{0}")]
    Syntax(&'static str),
}

impl Command {
    /// The keyword, uppercase.
    pub fn name(&self) -> &'static str {
        match self {
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Auth { .. } => "AUTH",
            Command::Capa => "CAPA",
            Command::Stls => "STLS",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Uidl(_) => "UIDL",
            Command::Retr(_) => "RETR",
            Command::Top(..) => "TOP",
            Command::Dele(_) => "DELE",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
        }
    }

    /// Parses one line (without its line end).
    pub fn parse(line: &[u8]) -> Result<Command, CommandError> {
        let text = std::str::from_utf8(line).map_err(|_| CommandError::BadCharacters)?;
        // RFC 1939 §3: keywords and arguments are printable ASCII; passwords may be UTF-8
        // (RFC 5034 is UTF-8 throughout), so only control characters are refused.
        if text.chars().any(char::is_control) {
            return Err(CommandError::BadCharacters);
        }
        let (keyword, rest) = text.split_once(' ').unwrap_or((text, ""));
        // RFC 1939 §3: keywords are case-insensitive, three or four characters.
        match keyword.to_ascii_uppercase().as_str() {
            "USER" => one_word(rest, "USER needs a user name").map(Command::User),
            "PASS" if rest.is_empty() => Err(CommandError::Syntax("PASS needs a password")),
            "PASS" => Ok(Command::Pass(rest.to_owned())),
            "AUTH" => parse_auth(rest),
            "CAPA" => no_args(rest, Command::Capa),
            "STLS" => no_args(rest, Command::Stls),
            "STAT" => no_args(rest, Command::Stat),
            "RSET" => no_args(rest, Command::Rset),
            "NOOP" => no_args(rest, Command::Noop),
            "QUIT" => no_args(rest, Command::Quit),
            "LIST" => optional_number(rest).map(Command::List),
            "UIDL" => optional_number(rest).map(Command::Uidl),
            "RETR" => number(rest).map(Command::Retr),
            "DELE" => number(rest).map(Command::Dele),
            "TOP" => parse_top(rest),
            _ => Err(CommandError::Unknown),
        }
    }
}

fn words(rest: &str) -> Vec<&str> {
    rest.split(' ').filter(|w| !w.is_empty()).collect()
}

fn no_args(rest: &str, command: Command) -> Result<Command, CommandError> {
    if words(rest).is_empty() {
        Ok(command)
    } else {
        Err(CommandError::Syntax("No arguments allowed"))
    }
}

fn one_word(rest: &str, missing: &'static str) -> Result<String, CommandError> {
    match words(rest).as_slice() {
        [word] => Ok((*word).to_owned()),
        [] => Err(CommandError::Syntax(missing)),
        _ => Err(CommandError::Syntax("Too many arguments")),
    }
}

/// RFC 1939 §3: a message number is a decimal number; calm's numbers start at 1.
fn parse_number(word: &str) -> Result<u32, CommandError> {
    if word.is_empty() || word.len() > 10 || !word.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CommandError::Syntax("Invalid message number"));
    }
    word.parse()
        .map_err(|_| CommandError::Syntax("Invalid message number"))
}

fn number(rest: &str) -> Result<u32, CommandError> {
    parse_number(&one_word(rest, "Message number required")?)
}

fn optional_number(rest: &str) -> Result<Option<u32>, CommandError> {
    match words(rest).as_slice() {
        [] => Ok(None),
        [word] => parse_number(word).map(Some),
        _ => Err(CommandError::Syntax("Too many arguments")),
    }
}

fn parse_top(rest: &str) -> Result<Command, CommandError> {
    match words(rest).as_slice() {
        [msg, lines] => {
            let lines =
                parse_number(lines).map_err(|_| CommandError::Syntax("Invalid number of lines"))?;
            Ok(Command::Top(parse_number(msg)?, lines))
        }
        _ => Err(CommandError::Syntax(
            "TOP needs a message number and a line count",
        )),
    }
}

fn parse_auth(rest: &str) -> Result<Command, CommandError> {
    match words(rest).as_slice() {
        [] => Ok(Command::Auth {
            mechanism: None,
            initial: None,
        }),
        [mechanism] => Ok(Command::Auth {
            mechanism: Some((*mechanism).to_owned()),
            initial: None,
        }),
        [mechanism, initial] => Ok(Command::Auth {
            mechanism: Some((*mechanism).to_owned()),
            initial: Some((*initial).to_owned()),
        }),
        _ => Err(CommandError::Syntax("Too many arguments")),
    }
}

#[cfg(test)]
mod tests;

//! Parsing a condition such as `not client_in lan` or `messages_per_ip > 100 per 1h`.

use std::time::Duration;

use super::{AuthMethod, Check, Cmp, Lookup, Rate};
use crate::dnsbl::{DnsList, DnsListKind};
use crate::facts::{Role, Tables};
use crate::limiter::{Counter, Per};
use crate::verdicts::{AuthResult, DmarcPolicy};

/// Largest threshold of a rate check: each key keeps up to this many timestamps.
const MAX_THRESHOLD: f64 = 1_000_000.0;
/// Longest window of a rate check.
const MAX_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// The lists and maps a condition may name, and the default recipient tables.
pub(crate) struct Names<'n> {
    pub(crate) lists: &'n [String],
    pub(crate) maps: &'n [String],
    pub(crate) dns_lists: &'n [DnsList],
    pub(crate) tables: Tables,
}

/// Every check name, for messages and documentation.
pub(crate) const CHECK_NAMES: &[&str] = &[
    "client_in",
    "listener",
    "tls",
    "authenticated",
    "ptr_missing",
    "fcrdns_fail",
    "helo_invalid",
    "helo_not_fqdn",
    "helo_is_ours",
    "helo_literal_mismatch",
    "concurrent_per_ip",
    "concurrent_per_net",
    "connections_per_ip",
    "connections_per_net",
    "messages_per_ip",
    "messages_per_sender",
    "messages_per_user",
    "recipients_per_ip",
    "recipients_per_sender",
    "recipients_per_user",
    "auth_failures",
    "sender_null",
    "sender_domain_unresolvable",
    "sender_domain_local",
    "sender_not_owned",
    "message_size",
    "rcpt_known",
    "rcpt_unknown",
    "rcpt_tables_incomplete",
    "rcpt_remote",
    "rcpt_lookup_failed",
    "rcpt_in",
    "access_client",
    "access_helo",
    "access_sender",
    "access_sender_domain",
    "access_rcpt",
    "header",
    "score",
    "spam_score",
    "gtube",
    "malware",
    "scanner_unavailable",
    "spamd_unavailable",
    "spf",
    "dkim",
    "dmarc",
    "arc",
    "dmarc_policy",
    "dnsbl",
    "dnswl",
    "dnsbl_score",
];

/// Parses one condition: `[not] check [arguments]`. Returns the check and whether it is
/// negated.
pub(crate) fn parse_condition(text: &str, names: &Names<'_>) -> Result<(Check, bool), String> {
    let words = tokens(text)?;
    let mut words = words.iter().map(String::as_str);
    let mut name = words.next().ok_or("empty condition")?;
    let negate = name == "not";
    if negate {
        name = words.next().ok_or("`not` needs a check after it")?;
    }
    let args: Vec<&str> = words.collect();
    Ok((parse_check(name, &args, names)?, negate))
}

fn parse_check(name: &str, args: &[&str], names: &Names<'_>) -> Result<Check, String> {
    let plain = |c: Check| match args {
        [] => Ok(c),
        _ => Err(format!("`{name}` takes no arguments")),
    };
    match name {
        "client_in" => {
            lookup(name, one(name, args, "a list name")?, names.lists, "list").map(Check::ClientIn)
        }
        "listener" => role(one(name, args, "mx, submission or submissions")?).map(Check::Listener),
        "tls" => plain(Check::Tls),
        "authenticated" => plain(Check::Authenticated),
        "ptr_missing" => plain(Check::PtrMissing),
        "fcrdns_fail" => plain(Check::FcrdnsFail),
        "helo_invalid" => plain(Check::HeloInvalid),
        "helo_not_fqdn" => plain(Check::HeloNotFqdn),
        "helo_is_ours" => plain(Check::HeloIsOurs),
        "helo_literal_mismatch" => plain(Check::HeloLiteralMismatch),
        "sender_null" => plain(Check::SenderNull),
        "sender_domain_unresolvable" => plain(Check::SenderDomainUnresolvable),
        "sender_domain_local" => plain(Check::SenderDomainLocal),
        "sender_not_owned" => plain(Check::SenderNotOwned),
        "rcpt_known" => plain(Check::RcptKnown),
        "rcpt_remote" => plain(Check::RcptRemote),
        "rcpt_lookup_failed" => plain(Check::RcptLookupFailed),
        "rcpt_unknown" => tables(args, names.tables).map(Check::RcptUnknown),
        "rcpt_tables_incomplete" => tables(args, names.tables).map(Check::RcptTablesIncomplete),
        "rcpt_in" => {
            lookup(name, one(name, args, "a map name")?, names.maps, "map").map(Check::RcptIn)
        }
        "message_size" => cmp(name, args, parse_size, "message_size > 10M").map(Check::MessageSize),
        "score" => cmp(name, args, parse_score, "score >= 5").map(Check::Score),
        "dnsbl" => dns_list(name, args, names.dns_lists, DnsListKind::Block),
        "dnswl" => dns_list(name, args, names.dns_lists, DnsListKind::Allow),
        "dnsbl_score" => cmp(name, args, parse_score, "dnsbl_score >= 3").map(Check::DnsblScore),
        "header" => header(args),
        "spam_score" => cmp(name, args, parse_score, "spam_score >= 5").map(Check::SpamScore),
        "gtube" => plain(Check::Gtube),
        "scanner_unavailable" => plain(Check::ScannerUnavailable),
        "spamd_unavailable" => plain(Check::SpamdUnavailable),
        "malware" => match args {
            [] => Ok(Check::Malware(None)),
            [n] => Ok(Check::Malware(Some((*n).into()))),
            _ => Err("`malware` takes at most one argument: part of a signature name".into()),
        },
        "spf" => auth(AuthMethod::Spf, args),
        "dkim" => auth(AuthMethod::Dkim, args),
        "dmarc" => auth(AuthMethod::Dmarc, args),
        "arc" => auth(AuthMethod::Arc, args),
        "dmarc_policy" => {
            let word = one(name, args, "none, quarantine or reject")?;
            DmarcPolicy::parse(word)
                .map(Check::DmarcPolicy)
                .ok_or_else(|| {
                    format!("unknown DMARC policy `{word}`; policies: none, quarantine, reject")
                })
        }
        _ => {
            if let Some(lookup_kind) = access_kind(name) {
                let map = lookup(name, one(name, args, "a map name")?, names.maps, "map")?;
                return Ok(Check::Access(lookup_kind, map));
            }
            match rate_kind(name) {
                Some((counter, per, windowed)) => rate(name, args, counter, per, windowed),
                None => Err(unknown_check(name)),
            }
        }
    }
}

fn access_kind(name: &str) -> Option<Lookup> {
    Some(match name {
        "access_client" => Lookup::Client,
        "access_helo" => Lookup::Helo,
        "access_sender" => Lookup::Sender,
        "access_sender_domain" => Lookup::SenderDomain,
        "access_rcpt" => Lookup::Rcpt,
        _ => return None,
    })
}

fn rate_kind(name: &str) -> Option<(Counter, Per, bool)> {
    use Counter::*;
    Some(match name {
        "concurrent_per_ip" => (Connections, Per::Ip, false),
        "concurrent_per_net" => (Connections, Per::Net, false),
        "connections_per_ip" => (Connections, Per::Ip, true),
        "connections_per_net" => (Connections, Per::Net, true),
        "messages_per_ip" => (Messages, Per::Ip, true),
        "messages_per_sender" => (Messages, Per::Sender, true),
        "messages_per_user" => (Messages, Per::User, true),
        "recipients_per_ip" => (Recipients, Per::Ip, true),
        "recipients_per_sender" => (Recipients, Per::Sender, true),
        "recipients_per_user" => (Recipients, Per::User, true),
        "auth_failures" => (AuthFailures, Per::Ip, true),
        _ => return None,
    })
}

fn unknown_check(name: &str) -> String {
    let best = CHECK_NAMES
        .iter()
        .map(|c| (edit_distance(name, c), c))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, c)) if d <= 3 => format!("unknown check `{name}`; did you mean `{c}`?"),
        _ => format!("unknown check `{name}`; see docs/policy.md for the list of checks"),
    }
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

fn one<'w>(name: &str, args: &[&'w str], what: &str) -> Result<&'w str, String> {
    match args {
        [a] => Ok(a),
        _ => Err(format!("`{name}` needs exactly one argument: {what}")),
    }
}

fn lookup(check: &str, name: &str, known: &[String], kind: &str) -> Result<usize, String> {
    known
        .iter()
        .position(|k| k == name)
        .ok_or_else(|| format!("`{check}`: no {kind} named `{name}` (declare it under [{kind}s])"))
}

/// `dnsbl NAME` / `dnswl NAME`: a declared list of that kind.
fn dns_list(
    check: &str,
    args: &[&str],
    lists: &[DnsList],
    kind: DnsListKind,
) -> Result<Check, String> {
    let name = one(check, args, "a list name")?;
    match lists.iter().position(|l| l.name == name) {
        Some(id) if lists.get(id).is_some_and(|l| l.kind == kind) => Ok(Check::DnsList {
            id,
            target: lists
                .get(id)
                .map_or(crate::DnsblTarget::Client, |l| l.target),
        }),
        Some(_) => Err(format!(
            "`{check} {name}`: `{name}` is not a {check} list (it is declared under the other table)"
        )),
        None => Err(format!(
            "`{check}`: no list named `{name}` (declare it as [{check}.{name}])"
        )),
    }
}

fn role(word: &str) -> Result<Role, String> {
    // Only SMTP listeners meet the policy.
    Role::ALL
        .into_iter()
        .filter(|r| r.is_smtp())
        .find(|r| r.as_str() == word)
        .ok_or_else(|| {
            format!("unknown listener role `{word}`; roles: mx, submission, submissions")
        })
}

fn tables(args: &[&str], default: Tables) -> Result<Tables, String> {
    if args.is_empty() {
        return Ok(default);
    }
    args.iter().try_fold(Tables::NONE, |acc, a| {
        Tables::parse(a).map(|t| acc.union(t)).ok_or_else(|| {
            format!("unknown recipient table `{a}`; tables: users, aliases, virtual")
        })
    })
}

fn comparison(word: &str) -> Option<bool> {
    match word {
        ">" => Some(false),
        ">=" => Some(true),
        _ => None,
    }
}

fn cmp(
    name: &str,
    args: &[&str],
    number: fn(&str) -> Option<f64>,
    example: &str,
) -> Result<Cmp, String> {
    match args {
        [op, n] => match (comparison(op), number(n)) {
            (Some(or_equal), Some(limit)) => Ok(Cmp { or_equal, limit }),
            _ => Err(format!("`{name}` needs `> N` or `>= N`, e.g. `{example}`")),
        },
        _ => Err(format!("`{name}` needs `> N` or `>= N`, e.g. `{example}`")),
    }
}

fn rate(
    name: &str,
    args: &[&str],
    counter: Counter,
    per: Per,
    windowed: bool,
) -> Result<Check, String> {
    let usage = if windowed {
        format!("`{name}` needs `> N per DURATION`, e.g. `{name} > 100 per 1h`")
    } else {
        format!("`{name}` needs `> N`, e.g. `{name} > 20`")
    };
    let (op, n, window) = match (args, windowed) {
        ([op, n], false) => (op, n, None),
        ([op, n, "per", w], true) => (op, n, Some(parse_duration(w).ok_or(usage.clone())?)),
        _ => return Err(usage),
    };
    let or_equal = comparison(op).ok_or(usage.clone())?;
    let limit = parse_count(n).ok_or(usage)?;
    let cmp = Cmp { or_equal, limit };
    Ok(Check::Rate(Rate {
        counter,
        per,
        cmp,
        window,
    }))
}

fn header(args: &[&str]) -> Result<Check, String> {
    let (name, contains) =
        match args {
            [n] => (n, None),
            [n, text] => (n, Some(text.to_string().into_boxed_str())),
            _ => return Err(
                "`header` needs a field name and optionally a text: `header Subject \"[SPAM]\"`"
                    .into(),
            ),
        };
    // RFC 5322 §3.6.8: field names are printable ASCII except colon.
    let valid = !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':');
    if !valid {
        return Err(format!("`{name}` is not a header field name"));
    }
    Ok(Check::Header {
        name: (*name).into(),
        contains,
    })
}

/// `spf fail softfail`: the method's result is any of the named ones (RFC 8601 §2.7 names).
fn auth(method: AuthMethod, args: &[&str]) -> Result<Check, String> {
    let name = method.name();
    if args.is_empty() {
        return Err(format!(
            "`{name}` needs one or more results, e.g. `{name} fail softfail`"
        ));
    }
    let results = args
        .iter()
        .map(|a| {
            AuthResult::parse(a).ok_or_else(|| {
                format!(
                    "unknown {name} result `{a}`; results: pass, fail, softfail, neutral, none, temperror, permerror"
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Check::Auth(method, results.into()))
}

fn parse_count(s: &str) -> Option<f64> {
    let n: u32 = s.parse().ok()?;
    let n = f64::from(n);
    (n <= MAX_THRESHOLD).then_some(n)
}

fn parse_score(s: &str) -> Option<f64> {
    s.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && x.abs() <= 1e6)
}

/// `1000`, `512K`, `10M`, `1G` (binary multiples).
pub(crate) fn parse_size(s: &str) -> Option<f64> {
    let (digits, mult) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (&s[..i], 1u64 << 10),
        (i, 'm' | 'M') => (&s[..i], 1 << 20),
        (i, 'g' | 'G') => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    let n: u64 = digits.parse().ok()?;
    n.checked_mul(mult).map(|v| v as f64)
}

/// `30s`, `5m`, `1h`, `1d`.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let (i, unit) = s.char_indices().last()?;
    let n: u64 = s[..i].parse().ok()?;
    let secs = match unit {
        's' => n,
        'm' => n.checked_mul(60)?,
        'h' => n.checked_mul(3600)?,
        'd' => n.checked_mul(86_400)?,
        _ => return None,
    };
    let d = Duration::from_secs(secs);
    (secs > 0 && d <= MAX_WINDOW).then_some(d)
}

/// Splits a condition into words; `"..."` quotes a word with spaces (`\"` and `\\` inside).
pub(crate) fn tokens(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err("unterminated `\"` in condition".into()),
                    Some('"') => break,
                    Some('\\') => word.push(chars.next().ok_or("`\\` at the end of condition")?),
                    Some(ch) => word.push(ch),
                }
            }
        } else {
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                word.push(ch);
                chars.next();
            }
        }
        out.push(word);
    }
    Ok(out)
}

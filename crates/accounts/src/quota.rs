//! A user's own storage limit, from the Dovecot `quota_rule` extra field of the users file.
//!
//! Dovecot's passwd-file keeps space-separated extra fields after the seventh `:`; a rule for
//! the whole mailbox tree is `userdb_quota_rule=*:storage=1G` (or `quota_rule=` without the
//! prefix). The units follow Dovecot's `quota-util.c` (`quota_rule_parse_limits`,
//! `quota_limit_parse`): `storage=N` counts **kilobytes** when N has no unit, `bytes=N` counts
//! bytes; a unit `B`, `K`, `M`, `G` or `T` (any case, 1024-based) overrides that; 0 means no
//! limit. Rules for single mailboxes (`Trash:storage=+100M`), `messages=` limits and the
//! numbered `quota_rule2...` fields mean nothing to calm and are ignored, so a file Dovecot
//! reads loads here too.

/// A user's storage limit, overriding the global `accounts.quota_bytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserQuota {
    /// No limit for this user (`storage=0`, or `*:ignore`).
    Unlimited,
    /// At most this many bytes, all mailboxes together.
    Bytes(u64),
}

impl UserQuota {
    /// The limit in bytes that applies, given the user's own rule (if any) and the global
    /// default (0: none). `None` means unlimited.
    pub fn effective(own: Option<UserQuota>, default_bytes: u64) -> Option<u64> {
        match own {
            Some(UserQuota::Unlimited) => None,
            Some(UserQuota::Bytes(n)) => Some(n),
            None => (default_bytes > 0).then_some(default_bytes),
        }
    }
}

/// The quota of one users-file line (`user:password:uid:gid:gecos:home:shell:extra`), if its
/// extra fields set one for all mailboxes.
pub(crate) fn from_line(line: &str) -> Result<Option<UserQuota>, String> {
    let Some(extra) = line.splitn(8, ':').nth(7) else {
        return Ok(None);
    };
    let mut quota = None;
    for field in extra.split_ascii_whitespace() {
        let field = field.strip_prefix("userdb_").unwrap_or(field);
        if let Some(rule) = field.strip_prefix("quota_rule=") {
            // Like Dovecot, a later rule for the same mailboxes replaces an earlier one.
            quota = parse_rule(rule)
                .map_err(|e| format!("quota_rule={rule}: {e}"))?
                .or(quota);
        }
    }
    Ok(quota)
}

/// `<mailbox mask>:<limits>`; `None` for a rule that is not about every mailbox.
fn parse_rule(rule: &str) -> Result<Option<UserQuota>, String> {
    let (mask, limits) = rule
        .split_once(':')
        .ok_or("expected <mailboxes>:<limits>")?;
    // `*` and `?` are Dovecot's names for the default rule (all mailboxes).
    if mask != "*" && mask != "?" {
        return Ok(None);
    }
    if limits == "ignore" {
        return Ok(Some(UserQuota::Unlimited));
    }
    let mut bytes = None;
    for limit in limits.split(':') {
        let (key, value) = limit.split_once('=').unwrap_or((limit, ""));
        let default_unit = match key {
            "storage" => 1024,
            "bytes" => 1,
            "messages" => continue,
            _ => return Err(format!("unknown limit {key:?}")),
        };
        bytes = Some(size(value, default_unit)?);
    }
    Ok(bytes.map(|n| match n {
        0 => UserQuota::Unlimited,
        n => UserQuota::Bytes(n),
    }))
}

/// `N[unit]`, a unit letter optionally followed by `B` (`100M`, `100MB`, `512k`).
fn size(value: &str, default_unit: u64) -> Result<u64, String> {
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = value.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{value:?} is not a size (a number with an optional unit)"))?;
    let unit = unit.to_ascii_uppercase();
    let multiplier: u64 = match unit
        .strip_suffix('B')
        .filter(|u| !u.is_empty())
        .unwrap_or(&unit)
    {
        "" => default_unit,
        "B" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return Err(format!("unknown unit in {value:?} (B, K, M, G or T)")),
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{value:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(extra: &str) -> Result<Option<UserQuota>, String> {
        from_line(&format!(
            "bob@example.test:{{PLAIN}}pw:1000:1000::/home/bob::{extra}"
        ))
    }

    #[test]
    fn storage_without_unit_is_kilobytes_as_in_dovecot() {
        assert_eq!(
            line("userdb_quota_rule=*:storage=100"),
            Ok(Some(UserQuota::Bytes(102_400)))
        );
        assert_eq!(
            line("quota_rule=*:bytes=100"),
            Ok(Some(UserQuota::Bytes(100)))
        );
    }

    #[test]
    fn units_are_1024_based_and_any_case() {
        let cases = [
            ("*:storage=7B", 7),
            ("*:storage=2k", 2048),
            ("*:storage=2K", 2048),
            ("*:storage=3M", 3 << 20),
            ("*:storage=3MB", 3 << 20),
            ("*:storage=1G", 1 << 30),
            ("*:storage=1t", 1 << 40),
            ("*:bytes=1G", 1 << 30),
            ("?:storage=1G", 1 << 30),
            ("*:storage=1G:messages=1000", 1 << 30),
        ];
        for (rule, want) in cases {
            let got = line(&format!("userdb_quota_rule={rule}"));
            assert_eq!(got, Ok(Some(UserQuota::Bytes(want))), "{rule}");
        }
    }

    #[test]
    fn zero_and_ignore_mean_unlimited() {
        assert_eq!(
            line("userdb_quota_rule=*:storage=0"),
            Ok(Some(UserQuota::Unlimited))
        );
        assert_eq!(
            line("userdb_quota_rule=*:storage=0G"),
            Ok(Some(UserQuota::Unlimited))
        );
        assert_eq!(
            line("userdb_quota_rule=*:ignore"),
            Ok(Some(UserQuota::Unlimited))
        );
    }

    #[test]
    fn other_fields_and_mailbox_rules_are_ignored() {
        assert_eq!(line(""), Ok(None));
        assert_eq!(line("userdb_mail=maildir:~/Maildir"), Ok(None));
        assert_eq!(line("userdb_quota_rule=Trash:storage=+100M"), Ok(None));
        assert_eq!(line("userdb_quota_rule2=*:storage=5M"), Ok(None));
        assert_eq!(line("userdb_quota_rule=*:messages=10"), Ok(None));
        assert_eq!(from_line("bob@example.test:{PLAIN}pw"), Ok(None));
        // Later rules replace earlier ones; a mailbox rule does not undo the default one.
        assert_eq!(
            line("userdb_quota_rule=*:storage=1M quota_rule=*:storage=2M"),
            Ok(Some(UserQuota::Bytes(2 << 20)))
        );
        assert_eq!(
            line("userdb_quota_rule=*:storage=1M userdb_quota_rule=INBOX:storage=5M"),
            Ok(Some(UserQuota::Bytes(1 << 20)))
        );
    }

    #[test]
    fn malformed_rules_are_errors_naming_the_rule() {
        for rule in [
            "*:storage=",
            "*:storage=abc",
            "*:storage=-5",
            "*:storage=+5M",
            "*:storage=5X",
            "*:storage=5MM",
            "*:storage=50%",
            "*:storage=99999999999T",
            "*:storage=18446744073709551616",
            "*:flurbs=5",
            "*",
            "*:",
        ] {
            let e = line(&format!("userdb_quota_rule={rule}")).unwrap_err();
            assert!(
                e.starts_with(&format!("quota_rule={rule}: ")),
                "{rule}: {e}"
            );
        }
    }

    #[test]
    fn effective_limit_prefers_the_users_own_rule() {
        assert_eq!(UserQuota::effective(None, 0), None);
        assert_eq!(UserQuota::effective(None, 500), Some(500));
        assert_eq!(UserQuota::effective(Some(UserQuota::Unlimited), 500), None);
        assert_eq!(
            UserQuota::effective(Some(UserQuota::Bytes(9)), 500),
            Some(9)
        );
        assert_eq!(UserQuota::effective(Some(UserQuota::Bytes(9)), 0), Some(9));
    }
}

use std::path::{Path, PathBuf};

use super::ConfigError;
use crate::model::{Config, Role};

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_str(text, Path::new("calm.toml"))
}

fn parse_error(text: &str) -> String {
    match parse(text) {
        Ok(config) => panic!("{text:?} parsed: {config:?}"),
        Err(err) => err.to_string(),
    }
}

#[test]
fn an_empty_file_is_the_builtin_config() {
    assert_eq!(parse("").unwrap(), Config::builtin());
    assert_eq!(parse("# only a comment\n\n").unwrap(), Config::default());
}

#[test]
fn builtin_has_the_documented_defaults() {
    let config = Config::builtin();
    assert_eq!(config.server.hostname, "localhost");
    assert_eq!(config.server.data_dir, Path::new("calm-data"));
    assert_eq!(config.server.local_domains, ["localhost", "example.test"]);
    let nets: Vec<String> = config
        .server
        .lan_networks
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(nets, ["127.0.0.0/8", "::1/128"]);
    let listeners: Vec<(String, Role, String)> = config
        .listeners
        .iter()
        .map(|l| (l.name.clone(), l.role, l.address.to_string()))
        .collect();
    assert_eq!(
        listeners,
        [
            ("mx".to_owned(), Role::Mx, "127.0.0.1:2525".to_owned()),
            (
                "submission".to_owned(),
                Role::Submission,
                "127.0.0.1:2587".to_owned()
            ),
            (
                "submissions".to_owned(),
                Role::Submissions,
                "127.0.0.1:2465".to_owned()
            ),
            ("pop3".to_owned(), Role::Pop3, "127.0.0.1:1110".to_owned()),
            ("pop3s".to_owned(), Role::Pop3s, "127.0.0.1:1995".to_owned()),
            ("imap".to_owned(), Role::Imap, "127.0.0.1:1143".to_owned()),
            ("imaps".to_owned(), Role::Imaps, "127.0.0.1:1993".to_owned()),
        ]
    );
    assert_eq!(config.accounts.subaddress_separator, Some('+'));
    assert!(config.accounts.sender_must_own_address);
    assert_eq!(config.limits.max_message_size, 26_214_400);
    assert_eq!(config.limits.max_recipients, 100);
    assert_eq!(config.limits.command_timeout_secs, 300);
    assert_eq!(config.limits.data_timeout_secs, 600);
    assert_eq!(config.limits.max_errors, 10);
    assert_eq!(config.limits.max_auth_failures, 3);
    assert_eq!(config.limits.mx_greeting_delay_ms, 300);
    assert_eq!(config.spool.group_commit_max_batch, 256);
    assert_eq!(config.log.level, "info");
    assert_eq!(config.source_file(), None);
}

#[test]
fn a_partial_section_keeps_the_other_defaults() {
    let config = parse("[limits]\nmax_recipients = 500\n").unwrap();
    assert_eq!(config.limits.max_recipients, 500);
    assert_eq!(config.limits.max_errors, 10);
    assert_eq!(config.server, Config::builtin().server);
}

#[test]
fn listener_tables_replace_the_builtin_list() {
    let text = "[[listener]]\nname = \"in\"\nrole = \"mx\"\naddress = \"[::]:25\"\n";
    let config = parse(text).unwrap();
    assert_eq!(config.listeners.len(), 1);
    assert_eq!(config.listeners[0].name, "in");
    assert_eq!(config.listeners[0].address.to_string(), "[::]:25");
}

#[test]
fn unknown_keys_name_file_line_and_column() {
    let err = parse_error("[server]\nhostname = \"a.test\"\n    foo = 1\n");
    assert!(
        err.starts_with("calm.toml:3:5: unknown field `foo`, expected one of `hostname`"),
        "{err}"
    );
    assert!(parse_error("[serverr]\n").starts_with("calm.toml:1:2: unknown field `serverr`"));
}

#[test]
fn wrong_types_name_file_line_and_column() {
    let err = parse_error("\n[limits]\nmax_recipients = \"many\"\n");
    assert_eq!(
        err,
        "calm.toml:3:18: invalid type: string \"many\", expected usize"
    );
    let err = parse_error("[limits]\nmax_message_size = -1\n");
    assert!(err.starts_with("calm.toml:2:20: "), "{err}");
}

#[test]
fn bad_values_are_rejected_with_their_position() {
    let listener = |role: &str, address: &str| {
        format!("[[listener]]\nname = \"x\"\nrole = \"{role}\"\naddress = \"{address}\"\n")
    };
    let err = parse_error(&listener("smtp", "127.0.0.1:25"));
    assert!(
        err.starts_with("calm.toml:3:8: unknown variant `smtp`"),
        "{err}"
    );
    let err = parse_error(&listener("mx", "127.0.0.1"));
    assert!(
        err.starts_with("calm.toml:4:11: invalid socket address"),
        "{err}"
    );
    let err = parse_error(&listener("MX", "127.0.0.1:25"));
    assert!(err.contains("unknown variant `MX`"), "{err}");
    let err = parse_error("[server]\nlan_networks = [\"10.0.0.1\"]\n");
    assert!(err.starts_with("calm.toml:2:"), "{err}");
    let err = parse_error("[[listener]]\nname = \"x\"\n");
    assert!(err.contains("missing field `role`"), "{err}");
}

#[test]
fn syntax_errors_are_one_line() {
    for text in [
        "x = = 3",
        "[server\n",
        "a = \"unterminated\n",
        "[server]\r hostname = 1",
        "\u{0}",
    ] {
        let err = parse_error(text);
        assert!(err.starts_with("calm.toml:"), "{err}");
        assert!(!err.contains('\n'), "{err:?}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let text = format!("a = {}", "[".repeat(100_000));
    assert!(parse(&text).is_err());
    let text = format!("a = {}1{}", "[".repeat(5_000), "]".repeat(5_000));
    assert!(parse(&text).is_err());
}

#[test]
fn subaddress_separator_is_one_character_or_empty() {
    let sep = |value: &str| {
        parse(&format!("[accounts]\nsubaddress_separator = {value}\n"))
            .map(|c| c.accounts.subaddress_separator)
    };
    assert_eq!(sep("\"\"").unwrap(), None);
    assert_eq!(sep("\"-\"").unwrap(), Some('-'));
    assert_eq!(sep("\"é\"").unwrap(), Some('é'));
    let err = sep("\"+-\"").unwrap_err().to_string();
    assert!(
        err.starts_with("calm.toml:2:24: expected a single character"),
        "{err}"
    );
    assert!(sep("1").is_err());
}

#[test]
fn relative_paths_are_relative_to_the_config_file() {
    let text = "[server]\ndata_dir = \"data\"\n[tls]\ncert = \"c.pem\"\nkey = \"/abs/k.pem\"\n\
                [accounts]\naliases_file = \"maps/aliases\"\n[log]\nevent_log = \"../log/e.jsonl\"\n";
    let config = Config::from_str(text, Path::new("/etc/calm/calm.toml")).unwrap();
    assert_eq!(config.server.data_dir, Path::new("/etc/calm/data"));
    assert_eq!(
        config.tls.cert.as_deref(),
        Some(Path::new("/etc/calm/c.pem"))
    );
    assert_eq!(config.tls.key.as_deref(), Some(Path::new("/abs/k.pem")));
    assert_eq!(
        config.accounts.aliases_file.as_deref(),
        Some(Path::new("/etc/calm/maps/aliases"))
    );
    assert_eq!(config.event_log(), Path::new("/etc/calm/../log/e.jsonl"));
    assert_eq!(config.users_file(), Path::new("/etc/calm/data/users"));
    assert_eq!(config.tls_dir(), Path::new("/etc/calm/data/tls"));
}

#[test]
fn builtin_paths_stay_relative_to_the_current_directory() {
    let config = Config::builtin();
    assert_eq!(config.users_file(), Path::new("calm-data/users"));
    assert_eq!(config.event_log(), Path::new("calm-data/events.jsonl"));
    assert_eq!(config.tls_dir(), Path::new("calm-data/tls"));
    // A bare file name has no directory: same meaning as the built-in config.
    assert_eq!(
        parse("").unwrap().users_file(),
        Path::new("calm-data/users")
    );
}

#[test]
fn resolve_paths_keeps_absolute_paths() {
    let mut config = Config::builtin();
    config.accounts.users_file = Some(PathBuf::from("/var/lib/calm/users"));
    config.resolve_paths(Path::new("/srv"));
    assert_eq!(config.server.data_dir, Path::new("/srv/calm-data"));
    assert_eq!(config.users_file(), Path::new("/var/lib/calm/users"));
    assert_eq!(config.event_log(), Path::new("/srv/calm-data/events.jsonl"));
}

#[test]
fn load_reads_the_file_and_resolves_against_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calm.toml");
    std::fs::write(&path, "[server]\nhostname = \"mail.example.com\"\n").unwrap();
    let config = Config::load(&path).unwrap();
    assert_eq!(config.server.hostname, "mail.example.com");
    assert_eq!(config.server.data_dir, dir.path().join("calm-data"));
    assert_eq!(config.source_file(), Some(path.as_path()));
}

#[test]
fn load_reports_unreadable_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let err = Config::load(&missing).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(
        err.to_string()
            .starts_with(&format!("{}: cannot read:", missing.display()))
    );

    let binary = dir.path().join("binary.toml");
    std::fs::write(&binary, [0xff, 0xfe, b'a']).unwrap();
    assert!(matches!(
        Config::load(&binary),
        Err(ConfigError::Read { .. })
    ));
    assert!(matches!(
        Config::load(dir.path()),
        Err(ConfigError::Read { .. })
    ));
}

#[test]
fn where_a_config_came_from_does_not_change_equality() {
    let a = Config::from_str("", Path::new("/a/calm.toml")).unwrap();
    let b = Config::from_str("\n\n", Path::new("calm.toml")).unwrap();
    let mut a_rel = a.clone();
    a_rel.server.data_dir = PathBuf::from("calm-data");
    assert_eq!(a_rel, b);
    assert_ne!(a, b, "data_dir differs");
}

//! Property tests: no file content and no address makes a parser or the resolver panic.

use std::path::Path;

use proptest::prelude::*;

use crate::{Aliases, Directory, DirectorySettings, PasswordHash, Users, VirtualMap};

/// Text built from the characters that matter to these formats, so that random input often
/// forms almost-valid lines.
fn table_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        r#"([a-c@:,.#"|/\\{}$ \t\r\n+]|:include:|\$6\$|\{PLAIN\}|@x\.test){0,80}"#,
    )
    .unwrap()
}

proptest! {
    #[test]
    fn parsers_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let p = Path::new("f");
        let _ = Users::from_bytes(p, &bytes);
        let _ = Aliases::from_bytes(p, &bytes);
        let _ = VirtualMap::from_bytes(p, &bytes);
    }

    #[test]
    fn parsers_and_resolver_never_panic_on_near_valid_text(
        users in table_text(),
        aliases in table_text(),
        virtual_map in table_text(),
        address in "[a-c+@.]{0,12}",
    ) {
        let p = Path::new("f");
        let users = Users::from_bytes(p, users.as_bytes()).unwrap_or_default();
        let aliases = Aliases::from_bytes(p, aliases.as_bytes()).unwrap_or_default();
        let virtual_map = VirtualMap::from_bytes(p, virtual_map.as_bytes()).unwrap_or_default();
        let settings = DirectorySettings {
            local_domains: vec!["x.test".into(), "a".into()],
            subaddress_separator: Some('+'),
            ..Default::default()
        };
        let dir = Directory::new(users, aliases, virtual_map, settings).unwrap();
        let _ = dir.resolve(&address);
        let _ = dir.owns("a@x.test", &address);
        let _ = dir.problems();
    }

    #[test]
    fn quota_rules_never_panic(
        rule in r#"(userdb_)?quota_rule2?=[*?a-zA-Z]{0,3}:((storage|bytes|messages|ignore)(=[-+]?[0-9]{0,25}[bBkKmMgGtT%xX]{0,3})?:?){0,3}( [ -~]{0,10})?"#,
    ) {
        let line = format!("u@x.test:{{PLAIN}}p:1:1::/h::{rule}");
        let users = Users::from_bytes(Path::new("f"), line.as_bytes());
        if let Ok(users) = users {
            let _ = users.storage_limit("u@x.test", u64::MAX);
        }
    }

    #[test]
    fn password_fields_never_panic(field in r#"(\{[A-Z0-9-]{0,12}\}?)?(\$[0-9a-z=,]{0,12}){0,5}[ -~]{0,8}"#) {
        if let Ok(hash) = PasswordHash::parse(&field) {
            // Argon2 fields here are random and may ask for real work; bcrypt/sha-crypt with
            // random costs are refused at parse time, so verifying stays cheap.
            let _ = hash.verify("x");
        }
    }
}

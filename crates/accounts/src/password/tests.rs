//! Known-answer tests: every constant below was produced by another tool (named per constant)
//! for the password `correct horse` unless stated otherwise, and is checked with the right and a
//! wrong password.

use super::*;

const RIGHT: &str = "correct horse";
const WRONG: &str = "correct horsf";

/// `doveadm pw -s SHA512-CRYPT -p 'correct horse'` (Dovecot 2.3)
const DOVECOT_SHA512: &str = "{SHA512-CRYPT}$6$TF8e/L5r6a1IFVSl$ulzyWCr/J7KH5ZmwIw3BlSDYNRVoDCRv6zj28CnEGdrZwH7M/65hfnWgf5XNqU1DiUGRStSmS1k66GmBKcjfq0";
/// `doveadm pw -s SHA256-CRYPT -p 'correct horse'`
const DOVECOT_SHA256: &str =
    "{SHA256-CRYPT}$5$zLY3g3ZEHr9b4R3o$9v9wBMCRg1EuYfDc8QUocEFXKvYSq0ayBwtmpxxouVD";
/// `doveadm pw -s BLF-CRYPT -r 4 -p 'correct horse'`
const DOVECOT_BLF: &str = "{BLF-CRYPT}$2y$04$yGK.yYAvucVTZBzxnDge.OmGttIWsdgFl82WRRrexwa9R8HGSs.9S";
/// `doveadm pw -s ARGON2ID -p 'correct horse'` (libsodium, m=64 MiB, t=3)
const DOVECOT_ARGON2ID: &str = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$jSXzm+I+W9qXs8xzIGEo8Q$h0lmAmcH6o4WpTw5TdWICnCtFQmOQYBVNDuV/3DVvmc";
/// `openssl passwd -6 'correct horse'` (bare crypt string)
const OPENSSL_SHA512: &str = "$6$/4KiYDi5LWokyoHy$tu6BJu5rSfoe6Gzsyq3U6fonaHY2LA6UvPkxkn1viJ4muvjkVIoMoScXaA8mSDJA.nhqom43BTqQWh9e0h7Oc0";
/// `openssl passwd -5 'correct horse'`
const OPENSSL_SHA256: &str = "$5$SehrxLfvgg.Nctp7$rwqNmJatSX5NCEzWO1HPnIFF3qKlzKJV2c13sko2FD6";
/// Python `bcrypt.hashpw(b'correct horse', bcrypt.gensalt(4))`
const PY_BCRYPT_2B: &str = "$2b$04$eMOuY02rkTUrYDAZyUaxe.61LqCOEz01V86/UBS0obr0Maz4QZKKy";
/// Python `bcrypt.hashpw(b'correct horse', bcrypt.gensalt(4, prefix=b"2a"))`
const PY_BCRYPT_2A: &str = "$2a$04$BbIl6gWQ8oC1o7k1a.4tOOX4AyscrPT7JUmGmKTyFfeFng9aU1ZVm";
/// Python argon2-cffi `PasswordHasher(time_cost=1, memory_cost=64, parallelism=1, type=ID)`
const PY_ARGON2ID: &str = "$argon2id$v=19$m=64,t=1,p=1$Rr2nFqGInVD9Skhyh4IyJg$0aNL8PSpb6BqTtQH1SV/2X10ov9Om4LRGQ8FJqdhMOo";
/// Python argon2-cffi `PasswordHasher(time_cost=2, memory_cost=256, parallelism=2, type=I)`
const PY_ARGON2I: &str = "$argon2i$v=19$m=256,t=2,p=2$qyQzLpBOP/ahuX0jOyBGdA$noTFjhs9qpC4yLKpdbXxryP1+9XIFa/fPge7sNegAoU";
/// Python argon2-cffi, type D: a valid PHC string for a scheme we do not accept.
const PY_ARGON2D: &str =
    "$argon2d$v=19$m=64,t=1,p=1$IgDjgiTpYORhemTIOpkmiA$o4T1mwEwkqD/S3/to4ZfC5HXM1QK4LH2wvxQa7nj8XM";

/// `doveadm pw -s SHA512-CRYPT -r 10000 -p 'pässwörd'`: explicit rounds and a UTF-8 password.
const DOVECOT_SHA512_ROUNDS_UTF8: &str = "{SHA512-CRYPT}$6$rounds=10000$Bv8lnYVy1iPHtr3a$v0nNuslOPmDsA0Mumo0EQYZXqlxxzTWoo94.IYXHFXP3VoalCA6pazuLhf/8k2ZyyocnX1NVrywX32gqYFZ2l0";
/// Python `bcrypt.hashpw('pässwörd'.encode(), bcrypt.gensalt(4))`
const PY_BCRYPT_UTF8: &str = "$2b$04$W9dWhRLaUrdbTah5cvSOseudd.B5/ojl4nIHWup8wooicS2Z7UvEi";

fn check(field: &str, scheme: Scheme, right: &str, wrong: &str) {
    let hash = PasswordHash::parse(field).unwrap_or_else(|e| panic!("{field}: {e}"));
    assert_eq!(hash.scheme(), scheme, "{field}");
    assert!(hash.verify(right), "{field} must accept the right password");
    assert!(!hash.verify(wrong), "{field} must refuse a wrong password");
    assert!(!hash.verify(""), "{field} must refuse the empty password");
    assert_eq!(hash.as_stored(), field);
}

#[test]
fn sha512_crypt_from_dovecot_and_openssl() {
    check(DOVECOT_SHA512, Scheme::Sha512Crypt, RIGHT, WRONG);
    check(OPENSSL_SHA512, Scheme::Sha512Crypt, RIGHT, WRONG);
    check(
        DOVECOT_SHA512_ROUNDS_UTF8,
        Scheme::Sha512Crypt,
        "pässwörd",
        "passwort",
    );
}

#[test]
fn sha256_crypt_from_dovecot_and_openssl() {
    check(DOVECOT_SHA256, Scheme::Sha256Crypt, RIGHT, WRONG);
    check(OPENSSL_SHA256, Scheme::Sha256Crypt, RIGHT, WRONG);
}

#[test]
fn bcrypt_2y_2b_2a() {
    check(DOVECOT_BLF, Scheme::Bcrypt, RIGHT, WRONG);
    check(PY_BCRYPT_2B, Scheme::Bcrypt, RIGHT, WRONG);
    check(PY_BCRYPT_2A, Scheme::Bcrypt, RIGHT, WRONG);
    check(PY_BCRYPT_UTF8, Scheme::Bcrypt, "pässwörd", "passwörd");
    check(
        &format!("{{BLF-CRYPT}}{PY_BCRYPT_2B}"),
        Scheme::Bcrypt,
        RIGHT,
        WRONG,
    );
}

#[test]
fn argon2_from_python() {
    check(PY_ARGON2ID, Scheme::Argon2id, RIGHT, WRONG);
    check(PY_ARGON2I, Scheme::Argon2i, RIGHT, WRONG);
    check(
        &format!("{{ARGON2I}}{PY_ARGON2I}"),
        Scheme::Argon2i,
        RIGHT,
        WRONG,
    );
}

#[test]
fn argon2id_from_dovecot() {
    // 64 MiB and 3 passes: slow in a debug build, so checked once with each password.
    check(DOVECOT_ARGON2ID, Scheme::Argon2id, RIGHT, WRONG);
}

#[test]
fn prefix_is_case_insensitive_and_crypt_picks_by_prefix() {
    check(
        &format!("{{sha512-crypt}}{OPENSSL_SHA512}"),
        Scheme::Sha512Crypt,
        RIGHT,
        WRONG,
    );
    check(
        &format!("{{CRYPT}}{PY_BCRYPT_2B}"),
        Scheme::Bcrypt,
        RIGHT,
        WRONG,
    );
    check(
        &format!("{{crypt}}{OPENSSL_SHA256}"),
        Scheme::Sha256Crypt,
        RIGHT,
        WRONG,
    );
}

#[test]
fn plain_and_clear_are_weak_and_exact() {
    for field in [
        "{PLAIN}s3cret:x",
        "{CLEAR}s3cret:x",
        "{CLEARTEXT}s3cret:x",
        "{plain}s3cret:x",
    ] {
        check(field, Scheme::Plain, "s3cret:x", "s3cret:X");
        let hash = PasswordHash::parse(field).unwrap();
        assert!(hash.is_weak());
        assert!(!hash.verify("s3cret:x "), "no trimming");
        assert!(!hash.verify("s3cret"), "no prefix match");
    }
    assert!(!PasswordHash::parse(PY_ARGON2ID).unwrap().is_weak());
    assert!(!PasswordHash::parse(DOVECOT_SHA512).unwrap().is_weak());
}

#[test]
fn empty_plain_password_only_matches_empty() {
    let hash = PasswordHash::parse("{PLAIN}").unwrap();
    assert!(hash.verify(""));
    assert!(!hash.verify("x"));
}

#[test]
fn empty_field_is_disabled_and_never_verifies() {
    let hash = PasswordHash::parse("").unwrap();
    assert_eq!(hash.scheme(), Scheme::Disabled);
    assert!(!hash.verify(""));
    assert!(!hash.verify("anything"));
    assert!(!hash.is_weak());
}

#[test]
fn generated_hash_is_argon2id_in_dovecot_form_with_random_salt() {
    let a = PasswordHash::generate(RIGHT).unwrap();
    let b = PasswordHash::generate(RIGHT).unwrap();
    assert!(
        a.as_stored()
            .starts_with("{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$")
    );
    assert_ne!(a.as_stored(), b.as_stored(), "salts must differ");
    assert!(a.verify(RIGHT));
    assert!(!a.verify(WRONG));
    // What we write, we (and Dovecot) can read back.
    let reparsed = PasswordHash::parse(a.as_stored()).unwrap();
    assert_eq!(reparsed, a);
}

#[test]
fn unknown_schemes_are_refused_by_name() {
    let err = PasswordHash::parse("{MD5}X03MO1qnZdYdgyfeuILPmQ==").unwrap_err();
    assert!(err.to_string().contains("{MD5}"), "{err}");
    let err = PasswordHash::parse("{SSHA512}abc").unwrap_err();
    assert!(
        err.to_string().contains("unsupported password scheme"),
        "{err}"
    );
    let err = PasswordHash::parse("$1$saltsalt$abcdefghijklmnopqrstuv").unwrap_err();
    assert!(err.to_string().contains("$1$"), "{err}");
    let err = PasswordHash::parse("$y$j9T$abc$def").unwrap_err();
    assert!(err.to_string().contains("$y$"), "{err}");
    assert!(
        PasswordHash::parse(PY_ARGON2D).is_err(),
        "argon2d is not for passwords"
    );
    // DES crypt and a clear password without a prefix look alike: refuse both.
    let err = PasswordHash::parse("abJnggxhB/yWI").unwrap_err();
    assert!(err.to_string().contains("{PLAIN}"), "{err}");
}

#[test]
fn mismatched_prefix_and_hash_are_refused() {
    for field in [
        format!("{{ARGON2ID}}{PY_ARGON2I}"),
        format!("{{SHA256-CRYPT}}{OPENSSL_SHA512}"),
        format!("{{BLF-CRYPT}}{OPENSSL_SHA512}"),
        "{SHA512-CRYPT}".to_owned(),
        "{ARGON2ID".to_owned(),
    ] {
        assert!(
            PasswordHash::parse(&field).is_err(),
            "{field} must be refused"
        );
    }
}

#[test]
fn malformed_hashes_are_load_errors_not_silent_failures() {
    let truncated_sha = &OPENSSL_SHA512[..OPENSSL_SHA512.len() - 1];
    let bad_rounds = "$6$rounds=10$abcdefgh$".to_owned() + &"a".repeat(86);
    let long_salt = "$5$abcdefghijklmnopq$".to_owned() + &"a".repeat(43);
    let bad_alphabet = "$5$salt$".to_owned() + &"!".repeat(43);
    let truncated_bcrypt = &PY_BCRYPT_2B[..PY_BCRYPT_2B.len() - 1];
    let bad_cost = "$2b$99$eMOuY02rkTUrYDAZyUaxe.61LqCOEz01V86/UBS0obr0Maz4QZKKy";
    let huge_memory = "$argon2id$v=19$m=4000000000,t=1,p=1$Rr2nFqGInVD9Skhyh4IyJg$0aNL8PSpb6BqTtQH1SV/2X10ov9Om4LRGQ8FJqdhMOo";
    let no_hash = "$argon2id$v=19$m=64,t=1,p=1$Rr2nFqGInVD9Skhyh4IyJg";
    let garbage_argon = "$argon2id$v=19$m=x,t=1,p=1$@@@$@@@";
    for field in [
        truncated_sha,
        &bad_rounds,
        &long_salt,
        &bad_alphabet,
        "$6$",
        "$6$a$b$c$d",
        truncated_bcrypt,
        bad_cost,
        "$2y$",
        huge_memory,
        no_hash,
        garbage_argon,
        "$argon2id$",
    ] {
        assert!(
            PasswordHash::parse(field).is_err(),
            "{field} must be refused"
        );
    }
}

#[test]
fn hostile_fields_never_panic() {
    let long = "$".repeat(10_000);
    for field in [
        "{",
        "}",
        "{}",
        "{}x",
        "$",
        "$$",
        "$2b$\u{e9}\u{e9}",
        "{CRYPT}",
        "{CRYPT}{CRYPT}$6$",
        "$argon2id$v=19$m=64,t=1,p=1$\u{1F600}$\u{1F600}",
        &long,
        "\u{0}",
        "{PLAIN\u{0}}x",
        "$2b$04$\u{e9}MOuY02rkTUrYDAZyUaxe.61LqCOEz01V86/UBS0obr0Maz4QZKK",
    ] {
        if let Ok(hash) = PasswordHash::parse(field) {
            let _ = hash.verify("x");
        }
    }
}

#[test]
fn debug_never_shows_the_hash_or_password() {
    let hash = PasswordHash::parse("{PLAIN}hunter2").unwrap();
    let shown = format!("{hash:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("Plain"), "{shown}");
}

#[test]
fn ct_eq_compares_exactly() {
    assert!(ct_eq(b"", b""));
    assert!(ct_eq(b"abc", b"abc"));
    assert!(!ct_eq(b"abc", b"abd"));
    assert!(!ct_eq(b"abc", b"ab"));
    assert!(!ct_eq(b"\x00", b""));
}

#[test]
fn scheme_names_are_dovecots() {
    assert_eq!(Scheme::Argon2id.to_string(), "ARGON2ID");
    assert_eq!(Scheme::Sha512Crypt.name(), "SHA512-CRYPT");
    assert_eq!(Scheme::Bcrypt.name(), "BLF-CRYPT");
}

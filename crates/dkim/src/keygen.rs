//! Generating a key file and the DNS record that publishes its public half.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::{DkimError, names};

/// The kind of key to generate (and the `k=` tag that publishes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// RSA with SHA-256 (RFC 6376 §3.3.1); generated at 2048 bits (RFC 8301 §3.2 requires at
    /// least 1024 and recommends 2048). Every verifier understands it.
    Rsa,
    /// Ed25519 with SHA-256 (RFC 8463). Short keys, but not every verifier supports it yet.
    Ed25519,
}

impl KeyType {
    /// The `k=` tag value (RFC 6376 §3.6.1, RFC 8463 §4.2).
    pub fn tag(self) -> &'static str {
        match self {
            KeyType::Rsa => "rsa",
            KeyType::Ed25519 => "ed25519",
        }
    }
}

/// A freshly written key and the TXT record to publish for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The key file written.
    pub path: PathBuf,
    /// Its kind.
    pub key_type: KeyType,
    /// The record's owner name, `<selector>._domainkey.<domain>` (RFC 6376 §3.6.2.1).
    pub name: String,
    /// The record's text, `v=DKIM1; k=rsa; p=...` (RFC 6376 §3.6.1).
    pub value: String,
}

impl Generated {
    /// A zone-file line, with the text split into quoted strings of at most 255 octets
    /// (RFC 1035 §3.3.14; RFC 6376 §3.6.2.2 has verifiers join them back).
    pub fn zone_line(&self) -> String {
        let strings: Vec<String> = self
            .value
            .as_bytes()
            .chunks(255)
            .map(|chunk| format!("\"{}\"", String::from_utf8_lossy(chunk)))
            .collect();
        format!("{}. IN TXT ( {} )", self.name, strings.join(" "))
    }
}

/// Generates an RSA-2048 key for `domain` with `selector`; see [`keygen_with`].
pub fn keygen(dir: &Path, domain: &str, selector: &str) -> Result<Generated, DkimError> {
    keygen_with(dir, domain, selector, KeyType::Rsa)
}

/// Writes a new private key to `<dir>/<domain>.<selector>.key` (PKCS#8 PEM, mode 0600;
/// `dir` is created with mode 0700 if missing) and returns the DNS record to publish.
/// An existing file is never overwritten: that would silently invalidate the published key.
pub fn keygen_with(
    dir: &Path,
    domain: &str,
    selector: &str,
    key_type: KeyType,
) -> Result<Generated, DkimError> {
    let domain = names::domain(domain)?;
    let selector = names::selector(selector)?;
    let (pkcs8, public) = generate(key_type)?;
    let path = dir.join(format!("{domain}.{selector}.key"));
    write_new(dir, &path, pem("PRIVATE KEY", &pkcs8).as_bytes())?;
    Ok(Generated {
        path,
        key_type,
        name: format!("{selector}._domainkey.{domain}"),
        value: format!(
            "v=DKIM1; k={}; p={}",
            key_type.tag(),
            STANDARD.encode(public)
        ),
    })
}

/// (PKCS#8 DER private key, public key as `p=` wants it).
fn generate(key_type: KeyType) -> Result<(Vec<u8>, Vec<u8>), DkimError> {
    let failed = |e: aws_lc_rs::error::Unspecified| DkimError::KeyGeneration(e.to_string());
    match key_type {
        KeyType::Rsa => {
            let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
            let private = pair.as_der().map_err(failed)?.as_ref().to_vec();
            // SubjectPublicKeyInfo, as `openssl rsa -pubout` and opendkim-genkey publish it;
            // every verifier accepts this form.
            let public = pair
                .public_key()
                .as_der()
                .map_err(failed)?
                .as_ref()
                .to_vec();
            Ok((private, public))
        }
        KeyType::Ed25519 => {
            let pair = Ed25519KeyPair::generate().map_err(failed)?;
            let private = pair.to_pkcs8().map_err(failed)?.as_ref().to_vec();
            // RFC 8463 §4.2: p= is the raw 32-octet public key, not SubjectPublicKeyInfo.
            let public = pair.public_key().as_ref().to_vec();
            Ok((private, public))
        }
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    // RFC 7468 §2: lines of 64 characters.
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Writes `data` to a hidden temporary file (mode 0600 from creation, so the key is never
/// readable by others) and hard-links it to `path`, which fails if `path` exists: no
/// overwrite, and no reader ever sees a half-written key.
fn write_new(dir: &Path, path: &Path, data: &[u8]) -> Result<(), DkimError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DkimError::Io { path, source }
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))?;
    if path.exists() {
        return Err(DkimError::Exists(path.to_path_buf()));
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("key");
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result =
        write_tmp(&tmp, data)
            .map_err(io(&tmp))
            .and_then(|()| match fs::hard_link(&tmp, path) {
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    Err(DkimError::Exists(path.to_path_buf()))
                }
                other => other.map_err(io(path)),
            });
    let _ = fs::remove_file(&tmp);
    result
}

fn write_tmp(tmp: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)?;
    file.write_all(data)?;
    file.sync_all()
}

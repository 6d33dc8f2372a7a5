//! Loading per-domain keys from a directory, and signing with them.

use std::collections::HashMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner, Done};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;

use crate::{DkimError, KeyType, names};

/// Header fields signed when present. RFC 6376 §5.4.1 recommends these; mail-auth also
/// lists the absent ones in `h=`, so nobody can add them later without breaking the
/// signature (RFC 6376 §8.15).
const SIGNED_HEADERS: [&str; 13] = [
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Content-Disposition",
];

/// Largest key file read; a 8192-bit RSA key in PEM is about 6.5 KiB.
const MAX_KEY_FILE: u64 = 64 * 1024;

enum SigningKey {
    Rsa(Box<DkimSigner<RsaKey<Sha256>, Done>>),
    Ed25519(Box<DkimSigner<Ed25519Key, Done>>),
}

/// Signs messages for one domain with one selector's key.
pub struct Signer {
    domain: String,
    selector: String,
    path: PathBuf,
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key itself is never printed.
        f.debug_struct("Signer")
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .field("key_type", &self.key_type())
            .field("path", &self.path)
            .finish()
    }
}

impl Signer {
    /// Reads a PEM private key (PKCS#8 RSA or Ed25519, or PKCS#1 RSA) for `domain`/`selector`.
    pub fn from_pem_file(path: &Path, domain: &str, selector: &str) -> Result<Signer, DkimError> {
        let pem = read_limited(path)?;
        let bad = |reason: String| DkimError::BadKeyFile {
            path: path.to_path_buf(),
            reason,
        };
        let der = PrivateKeyDer::from_pem_slice(&pem)
            .map_err(|e| bad(format!("not a PEM private key: {e}")))?;
        let domain = names::domain(domain)?;
        let selector = names::selector(selector)?;
        let key = signing_key(der, &domain, &selector).map_err(bad)?;
        Ok(Signer {
            domain,
            selector,
            path: path.to_path_buf(),
            key,
        })
    }

    /// The signing domain (`d=`), lower-cased.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The selector (`s=`), lower-cased.
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// The key file this signer was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// RSA or Ed25519.
    pub fn key_type(&self) -> KeyType {
        match self.key {
            SigningKey::Rsa(_) => KeyType::Rsa,
            SigningKey::Ed25519(_) => KeyType::Ed25519,
        }
    }

    /// The `DKIM-Signature:` header field for `message` (header section, blank line, body;
    /// CRLF or bare LF line ends), folded and ending in CRLF, to be prepended unchanged.
    pub fn sign(&self, message: &[u8]) -> Result<String, DkimError> {
        // RFC 6376 §5.4: the From header field MUST be signed; without one the signature
        // would protect nothing a DMARC receiver looks at.
        if !has_from(message) {
            return Err(DkimError::NoFrom);
        }
        let signature = match &self.key {
            SigningKey::Rsa(s) => s.sign(message),
            SigningKey::Ed25519(s) => s.sign(message),
        }
        .map_err(|e| DkimError::Sign(e.to_string()))?;
        Ok(signature.to_header())
    }
}

fn signing_key(der: PrivateKeyDer<'_>, domain: &str, selector: &str) -> Result<SigningKey, String> {
    if let PrivateKeyDer::Pkcs8(pkcs8) = &der {
        // aws-lc writes PKCS#8 v2 (with the public key), OpenSSL v1; accept both.
        if let Ok(key) = Ed25519Key::from_pkcs8_maybe_unchecked_der(pkcs8.secret_pkcs8_der()) {
            return Ok(SigningKey::Ed25519(Box::new(configure(
                DkimSigner::from_key(key),
                domain,
                selector,
            ))));
        }
    }
    match RsaKey::<Sha256>::from_key_der(der) {
        Ok(key) => Ok(SigningKey::Rsa(Box::new(configure(
            DkimSigner::from_key(key),
            domain,
            selector,
        )))),
        Err(e) => Err(format!("not an RSA or Ed25519 private key: {e}")),
    }
}

fn configure<T: mail_auth::common::crypto::SigningKey>(
    signer: DkimSigner<T>,
    domain: &str,
    selector: &str,
) -> DkimSigner<T, Done> {
    signer
        .domain(domain)
        .selector(selector)
        .headers(SIGNED_HEADERS)
        // RFC 6376 §3.4: relaxed survives the whitespace and folding changes relays make.
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
}

fn read_limited(path: &Path) -> Result<Vec<u8>, DkimError> {
    use std::io::Read;
    let io = |source| DkimError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(io)?;
    let mut buf = Vec::new();
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(io)?;
    if buf.len() as u64 > MAX_KEY_FILE {
        return Err(DkimError::BadKeyFile {
            path: path.to_path_buf(),
            reason: "larger than any private key".into(),
        });
    }
    Ok(buf)
}

/// Whether the header section has a `From:` field (RFC 5322 §3.6.2; RFC 5322 §4.5.3 obsolete
/// syntax allows white space before the colon).
fn has_from(message: &[u8]) -> bool {
    for line in message.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return false;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line.get(..colon).unwrap_or_default().trim_ascii_end();
        if name.eq_ignore_ascii_case(b"from") {
            return true;
        }
    }
    false
}

/// The signing keys of every domain calm signs for.
#[derive(Debug, Default)]
pub struct Keys {
    by_domain: HashMap<String, Signer>,
}

impl Keys {
    /// Loads every `<domain>.<selector>.key` in `dir`. A missing directory means no keys;
    /// names not ending in `.key` and hidden files are ignored (so `x.key.old` can stay
    /// beside its successor); a bad key file or two keys for one domain are errors naming
    /// the files, so a reload never silently stops signing.
    pub fn load(dir: &Path) -> Result<Keys, DkimError> {
        let io = |source| DkimError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Keys::default()),
            Err(e) => return Err(io(e)),
        };
        let mut paths = Vec::new();
        for entry in entries {
            let path = entry.map_err(io)?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".key") && !name.starts_with('.') {
                paths.push(path);
            }
        }
        // Sorted, so which file a duplicate error names first does not depend on readdir.
        paths.sort();
        let mut keys = Keys::default();
        for path in paths {
            keys.add(Self::load_file(&path)?)?;
        }
        Ok(keys)
    }

    fn load_file(path: &Path) -> Result<Signer, DkimError> {
        let stem = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".key"))
            .unwrap_or("");
        let Some((domain, selector)) = stem.rsplit_once('.') else {
            return Err(DkimError::BadKeyFile {
                path: path.to_path_buf(),
                reason: "name is not <domain>.<selector>.key".into(),
            });
        };
        let named = |e: DkimError| DkimError::BadKeyFile {
            path: path.to_path_buf(),
            reason: format!("name is not <domain>.<selector>.key: {e}"),
        };
        names::domain(domain).map_err(named)?;
        names::selector(selector).map_err(named)?;
        Signer::from_pem_file(path, domain, selector)
    }

    /// Adds a signer; a second one for the same domain is refused.
    pub fn add(&mut self, signer: Signer) -> Result<(), DkimError> {
        if let Some(first) = self.by_domain.get(&signer.domain) {
            return Err(DkimError::DuplicateDomain {
                domain: signer.domain.clone(),
                first: first.path.clone(),
                second: signer.path,
            });
        }
        self.by_domain.insert(signer.domain.clone(), signer);
        Ok(())
    }

    /// The signer for exactly `domain` (ASCII case-insensitive, trailing dot ignored;
    /// a parent domain's key does not sign for subdomains).
    pub fn signer_for(&self, domain: &str) -> Option<&Signer> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        self.by_domain.get(&domain)
    }

    /// How many domains have a key.
    pub fn len(&self) -> usize {
        self.by_domain.len()
    }

    /// Whether no domain has a key.
    pub fn is_empty(&self) -> bool {
        self.by_domain.is_empty()
    }

    /// The domains with a key, sorted.
    pub fn domains(&self) -> Vec<&str> {
        let mut domains: Vec<&str> = self.by_domain.keys().map(String::as_str).collect();
        domains.sort_unstable();
        domains
    }
}

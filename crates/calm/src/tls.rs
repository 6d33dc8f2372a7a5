//! The server certificate: the operator's PEM files, or a self-signed one made on first start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Where the certificate came from, for the start-up message.
pub enum Source {
    /// The operator's files.
    Configured(PathBuf),
    /// The self-signed development certificate in this file (`generated` if made just now).
    SelfSigned { cert: PathBuf, generated: bool },
}

/// Loads the configured certificate, or the self-signed one in `tls_dir` (made if missing).
pub fn server_config(
    cert: Option<&Path>,
    key: Option<&Path>,
    tls_dir: &Path,
    hostname: &str,
) -> Result<(Arc<ServerConfig>, Source)> {
    let (cert_path, key_path, source) = match (cert, key) {
        (Some(c), Some(k)) => (
            c.to_path_buf(),
            k.to_path_buf(),
            Source::Configured(c.to_path_buf()),
        ),
        _ => {
            let (c, k) = (tls_dir.join("cert.pem"), tls_dir.join("key.pem"));
            let generated = !c.exists() || !k.exists();
            if generated {
                self_signed(tls_dir, hostname)?;
            }
            (c.clone(), k, Source::SelfSigned { cert: c, generated })
        }
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|it| it.collect())
        .with_context(|| format!("reading certificate {}", cert_path.display()))?;
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .with_context(|| format!("reading key {}", key_path.display()))?;
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(|| {
            format!(
                "certificate {} does not match key {}",
                cert_path.display(),
                key_path.display()
            )
        })?;
    Ok((Arc::new(config), source))
}

/// Writes a self-signed certificate for `hostname`, `localhost` and 127.0.0.1 into `dir`.
fn self_signed(dir: &Path, hostname: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let names = vec![
        hostname.to_string(),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
    ];
    let key = rcgen::KeyPair::generate().context("generating a key")?;
    let cert = rcgen::CertificateParams::new(names)
        .and_then(|p| p.self_signed(&key))
        .context("making the self-signed certificate")?;
    write_private(&dir.join("key.pem"), key.serialize_pem().as_bytes())?;
    std::fs::write(dir.join("cert.pem"), cert.pem())
        .with_context(|| format!("writing {}", dir.display()))?;
    Ok(())
}

/// Writes a file readable only by its owner.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

//! The STARTTLS client configurations: opportunistic (certificate not checked, RFC 7435) and
//! verified (chain to a configured root store, name matches the host).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The two client configurations the engine uses.
#[derive(Clone)]
pub(crate) struct TlsConfigs {
    /// Any certificate (the handshake signature is still checked).
    pub opportunistic: Arc<ClientConfig>,
    /// Only certificates that chain to the configured roots; `None` when there are none.
    pub verified: Option<Arc<ClientConfig>>,
}

impl TlsConfigs {
    pub(crate) fn new(roots: Option<Arc<RootCertStore>>) -> Result<TlsConfigs, rustls::Error> {
        // An explicit provider: the process-wide default may not be installed (tests, tools).
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let opportunistic = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider.clone())))
            .with_no_client_auth();
        let verified = match roots {
            Some(roots) => Some(Arc::new(
                ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()?
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            )),
            None => None,
        };
        Ok(TlsConfigs {
            opportunistic: Arc::new(opportunistic),
            verified,
        })
    }
}

/// The TLS name for `host` (an IP address or a DNS name).
pub(crate) fn server_name(host: &str) -> Option<ServerName<'static>> {
    ServerName::try_from(host.to_owned()).ok()
}

/// RFC 7435 opportunistic security: encrypt without authenticating, since most MX hosts'
/// certificates do not match their MX names and a failed check would only push the mail back
/// to plaintext.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

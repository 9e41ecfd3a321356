//! TLS client settings: the system's roots by default, or no verification when a monitor
//! sets `verify-tls: false` (the certificate is still read, for its expiry).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

/// The two client configs every prober shares.
#[derive(Clone)]
pub(crate) struct TlsConfigs {
    pub verified: Arc<ClientConfig>,
    pub unverified: Arc<ClientConfig>,
    /// The system's roots, as `verified` trusts them (diagnose adds `--ca-file`'s).
    pub roots: Arc<rustls::RootCertStore>,
}

impl TlsConfigs {
    pub fn new() -> TlsConfigs {
        let provider = provider();
        let roots = system_roots();
        if roots.is_empty() {
            tracing::warn!("no system root certificates found; https monitors will fail verification");
        }
        let builder = || {
            ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .unwrap_or_else(|error| unreachable!("ring supports the default versions: {error}"))
        };
        let roots = Arc::new(roots);
        let verified = builder().with_root_certificates(Arc::clone(&roots)).with_no_client_auth();
        TlsConfigs { verified: Arc::new(verified), unverified: accept_any(), roots }
    }
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system's trusted roots.
pub(crate) fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    roots
}

/// A client config that accepts any certificate (the chain is judged afterwards, by
/// whoever asked), still checking that the server holds the certificate's key.
pub(crate) fn accept_any() -> Arc<ClientConfig> {
    let provider = provider();
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|error| unreachable!("ring supports the default versions: {error}"))
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
        .with_no_client_auth();
    Arc::new(config)
}

/// Accepts any certificate but still checks handshake signatures, so the connection
/// is at least to whoever holds the presented key.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

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
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// When the certificate stops being valid, from its `notAfter`.
pub(crate) fn certificate_expiry(certificate: &CertificateDer<'_>) -> Option<vigil_core::Timestamp> {
    let (_, parsed) = x509_parser::parse_x509_certificate(certificate.as_ref()).ok()?;
    let seconds = parsed.validity().not_after.timestamp();
    Some(vigil_core::Timestamp(seconds.saturating_mul(1000)))
}

//! The TLS layer: the handshake made with any certificate accepted, then the chain the
//! server sent judged on its own — dates, names, trust, completeness — so every
//! problem is reported at once (an expired certificate from an unknown CA says both).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::{verify_server_name, WebPkiServerVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::CertificateError;
use tokio::net::TcpStream;
use vigil_core::Timestamp;
use x509_parser::extensions::GeneralName;

use crate::failure::{FailureCode, ProbeFailure};

/// What judging the certificate decides.
#[derive(Debug)]
pub struct Verdict {
    /// Every problem found, the most serious first; empty when the chain is good.
    pub problems: Vec<ProbeFailure>,
    pub evidence: serde_json::Value,
}

/// What the walk needs to judge a chain.
pub struct Judge<'a> {
    pub host: &'a str,
    /// The trusted roots: the system's and `--ca-file`'s.
    pub roots: &'a rustls::RootCertStore,
    /// Whether the user added a private CA (a leaf alone then means an intermediate
    /// is missing).
    pub private_ca: bool,
    pub now: Timestamp,
    /// A certificate expiring sooner than this is a problem.
    pub warn: Duration,
}

/// Handshakes over `stream` within `deadline`; the chain and what was negotiated, or
/// why the handshake failed.
pub async fn handshake(
    stream: TcpStream,
    host: &str,
    address: SocketAddr,
    deadline: Instant,
) -> Result<(Vec<CertificateDer<'static>>, serde_json::Value), ProbeFailure> {
    let name = server_name(host)?;
    let connector = tokio_rustls::TlsConnector::from(crate::tls::accept_any());
    let wait = deadline.saturating_duration_since(Instant::now());
    let started = Instant::now();
    let tls = match tokio::time::timeout(wait, connector.connect(name, stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(error)) => return Err(crate::http::tls_failure(address, &error)),
        Err(_) => {
            return Err(ProbeFailure::new(
                FailureCode::TlsTimeout,
                format!(
                    "{address} accepted but did not complete a TLS handshake within {}: not a TLS server?",
                    vigil_core::time::format_duration(super::shown(wait))
                ),
            ))
        }
    };
    let connection = tls.get_ref().1;
    let chain: Vec<CertificateDer<'static>> =
        connection.peer_certificates().unwrap_or_default().iter().map(|certificate| certificate.clone().into_owned()).collect();
    let negotiated = serde_json::json!({
        "version": connection.protocol_version().map(|version| format!("{version:?}")),
        "cipher": connection.negotiated_cipher_suite().map(|suite| format!("{:?}", suite.suite())),
        "ms": (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
    });
    Ok((chain, negotiated))
}

fn server_name(host: &str) -> Result<ServerName<'static>, ProbeFailure> {
    ServerName::try_from(host.to_owned())
        .map_err(|_| ProbeFailure::new(FailureCode::ProbeInvalid, format!("`{host}` is not a valid TLS server name")))
}

impl Judge<'_> {
    /// Judges the chain a server sent, leaf first.
    pub fn judge(&self, chain: &[CertificateDer<'static>]) -> Verdict {
        let Some(leaf_der) = chain.first() else {
            return Verdict {
                problems: vec![ProbeFailure::new(FailureCode::TlsHandshake, "the server sent no certificate")],
                evidence: serde_json::Value::Null,
            };
        };
        let Ok((_, leaf)) = x509_parser::parse_x509_certificate(leaf_der.as_ref()) else {
            return Verdict {
                problems: vec![ProbeFailure::new(FailureCode::TlsHandshake, "the server's certificate cannot be parsed")],
                evidence: serde_json::Value::Null,
            };
        };
        let subject = leaf.subject().to_string();
        let issuer = leaf.issuer().to_string();
        let not_before = leaf.validity().not_before.timestamp();
        let not_after = leaf.validity().not_after.timestamp();
        let names = subject_alternative_names(&leaf);
        let has_ca_issuers_url = leaf.extensions().iter().any(|extension| {
            matches!(
                extension.parsed_extension(),
                x509_parser::extensions::ParsedExtension::AuthorityInfoAccess(access)
                    if access.accessdescs.iter().any(|description| description.access_method.to_id_string() == "1.3.6.1.5.5.7.48.2")
            )
        });
        let now = self.now.0.div_euclid(1000);
        let date = |seconds: i64| Timestamp(seconds.saturating_mul(1000)).to_rfc3339();
        let days = |seconds: i64| seconds.abs() / 86_400;

        let mut problems = Vec::new();
        // Trust first: a certificate nobody vouches for is the bigger problem.
        let name = server_name(self.host).ok();
        let middle =
            UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(not_before / 2 + not_after / 2).unwrap_or_default().max(1)));
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(self.roots.clone()), crate::tls::provider()).build();
        if verifier.is_err() {
            problems.push(ProbeFailure::new(
                FailureCode::TlsUntrusted,
                "this machine trusts no root certificates, so no chain can be verified (install ca-certificates, or pass --ca-file)",
            ));
        }
        if let (Some(name), Ok(verifier)) = (&name, verifier) {
            use rustls::client::danger::ServerCertVerifier;
            match verifier.verify_server_cert(leaf_der, &chain[1..], name, &[], middle) {
                Ok(_) => {}
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
                )) => {}
                Err(rustls::Error::InvalidCertificate(reason))
                    if matches!(reason, CertificateError::UnknownIssuer) || format!("{reason:?}").contains("CaUsedAsEndEntity") =>
                {
                    problems.push(if subject == issuer {
                        ProbeFailure::new(FailureCode::TlsSelfSigned, format!("the certificate is self-signed (issuer and subject are `{subject}`)"))
                    } else if chain.len() == 1 && (has_ca_issuers_url || self.private_ca) {
                        ProbeFailure::new(
                            FailureCode::TlsIncompleteChain,
                            format!("the server sends its certificate alone; the intermediate `{issuer}` that signed it is missing from the chain"),
                        )
                    } else {
                        ProbeFailure::new(
                            FailureCode::TlsUntrusted,
                            format!("the certificate is signed by `{issuer}`, which no trusted root vouches for (a private CA?)"),
                        )
                    });
                }
                Err(_) if subject == issuer => problems.push(ProbeFailure::new(
                    FailureCode::TlsSelfSigned,
                    format!("the certificate is self-signed (issuer and subject are `{subject}`)"),
                )),
                Err(other) => problems.push(ProbeFailure::new(FailureCode::TlsUntrusted, format!("the chain does not verify: {other}"))),
            }
        }
        if now > not_after {
            problems.push(ProbeFailure::new(
                FailureCode::TlsCertExpired,
                format!("the certificate expired on {} ({} days ago)", date(not_after), days(now - not_after)),
            ));
        } else if now < not_before {
            problems.push(ProbeFailure::new(
                FailureCode::TlsCertNotYetValid,
                format!("the certificate is valid from {} (in {} days)", date(not_before), days(not_before - now)),
            ));
        }
        let parsed = ParsedCertificate::try_from(leaf_der).ok();
        if let (Some(parsed), Some(name)) = (&parsed, &name) {
            if verify_server_name(parsed, name).is_err() {
                let shown = if names.is_empty() { "no names (no subjectAltName)".to_owned() } else { names.join(", ") };
                problems
                    .push(ProbeFailure::new(FailureCode::TlsNameMismatch, format!("the certificate is for {shown}, not `{}`", self.host)));
            }
        }
        let warn = i64::try_from(self.warn.as_secs()).unwrap_or(i64::MAX);
        if problems.is_empty() && now <= not_after && not_after - now < warn {
            problems.push(ProbeFailure::new(
                FailureCode::TlsCertExpiring,
                format!(
                    "the certificate expires on {}, in {} days (warning at {})",
                    date(not_after),
                    days(not_after - now),
                    vigil_core::time::format_duration(self.warn)
                ),
            ));
        }
        let evidence = serde_json::json!({
            "subject": subject,
            "issuer": issuer,
            "not_before": date(not_before),
            "not_after": date(not_after),
            "days_left": (not_after - now).div_euclid(86_400),
            "names": names,
            "chain": chain.iter().map(|certificate| {
                x509_parser::parse_x509_certificate(certificate.as_ref())
                    .map(|(_, parsed)| parsed.subject().to_string())
                    .unwrap_or_else(|_| "(unparseable)".to_owned())
            }).collect::<Vec<_>>(),
        });
        Verdict { problems, evidence }
    }
}

fn subject_alternative_names(certificate: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(extension)) = certificate.subject_alternative_name() else { return Vec::new() };
    extension
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => <[u8; 4]>::try_from(*bytes).ok().map(|octets| std::net::Ipv4Addr::from(octets).to_string()),
                16 => <[u8; 16]>::try_from(*bytes).ok().map(|octets| std::net::Ipv6Addr::from(octets).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Reads every certificate of a PEM file (`--ca-file`).
pub fn read_pem(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|error| format!("{}: not a PEM certificate file: {error}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!("{}: no certificate in the file", path.display()));
    }
    Ok(certificates)
}

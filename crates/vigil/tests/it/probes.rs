//! HTTPS probes against a local TLS server with a self-signed certificate: verification
//! is on by default, can be turned off, and the certificate's expiry is read either way.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vigil::probes::{HttpClient, HttpRequest};
use vigil_core::{Clock, SystemClock};

/// Serves `{"status":"OK"}` over TLS with a fresh self-signed certificate valid 30 days.
async fn tls_server() -> Option<(std::net::SocketAddr, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let generated = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30"])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    if !generated.is_ok_and(|output| output.status.success()) {
        vigil_testkit::skip_or_fail("openssl (to make a test certificate)");
        return None;
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert).expect("cert").map(|c| c.expect("cert")).collect();
    let key = PrivateKeyDer::from_pem_file(&key).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else { return };
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let body = r#"{"status":"OK"}"#;
                let response = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    Some((address, dir))
}

fn request(address: std::net::SocketAddr, verify_tls: bool) -> HttpRequest {
    HttpRequest {
        method: http::Method::GET,
        url: format!("https://{address}/health").parse().expect("url"),
        headers: Default::default(),
        body: None,
        timeout: Duration::from_secs(5),
        follow_redirects: true,
        verify_tls,
        host_from_address: false,
    }
}

#[tokio::test]
async fn https_verifies_certificates_by_default_and_reads_expiry() {
    let Some((address, _dir)) = tls_server().await else { return };
    let client = HttpClient::new();

    let verified = client.send(&request(address, true)).await;
    let failure = verified.failure.expect("a self-signed certificate is rejected by default");
    assert_eq!(failure.code, vigil::probes::FailureCode::TlsUntrusted, "{failure}");
    assert_eq!(verified.status, None);

    let unverified = client.send(&request(address, false)).await;
    assert_eq!(unverified.failure, None);
    assert_eq!(unverified.status, Some(200));
    assert_eq!(&unverified.body[..], br#"{"status":"OK"}"#);
    assert!(unverified.timings.tls.is_some() && unverified.timings.first_byte.is_some());
    let expires = unverified.certificate_expires_at.expect("expiry read without verification");
    let days = (expires.0 - SystemClock.now().0) as f64 / 86_400_000.0;
    assert!((29.0..=30.1).contains(&days), "expires in {days} days");
}

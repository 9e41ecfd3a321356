//! HTTP(S) client for probes and webhooks, driven phase by phase so each phase is timed:
//! DNS, TCP connect, TLS handshake, first byte. Bodies are read up to a cap.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::header::{HeaderName, HeaderValue, CONNECTION, HOST, LOCATION, USER_AGENT};
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::failure::{FailureCode, ProbeFailure};
use crate::tls::{certificate_expiry, TlsConfigs};
use crate::ProbeResult;

/// Bodies beyond this are cut; conditions see the first part.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
const MAX_REDIRECTS: usize = 10;

/// One request to make.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub url: Uri,
    pub headers: BTreeMap<String, String>,
    pub body: Option<Bytes>,
    pub timeout: Duration,
    pub follow_redirects: bool,
    pub verify_tls: bool,
    /// Send `Host: IP:PORT` of the address connected to, as a load balancer's health
    /// checker does, instead of the URL's name.
    pub host_from_address: bool,
}

/// Shared client state: the TLS configs, built once.
#[derive(Clone)]
pub struct HttpClient {
    tls: TlsConfigs,
}

impl Default for HttpClient {
    fn default() -> Self {
        HttpClient::new()
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl HttpClient {
    pub fn new() -> HttpClient {
        HttpClient { tls: TlsConfigs::new() }
    }

    /// The system's trusted roots this client verifies with.
    pub(crate) fn roots(&self) -> &rustls::RootCertStore {
        &self.tls.roots
    }

    /// Makes the request, following redirects if asked, within `request.timeout` overall.
    pub async fn send(&self, request: &HttpRequest) -> ProbeResult {
        self.send_via(request, None).await
    }

    /// [`HttpClient::send`], connecting to `address` instead of resolving the URL's
    /// host (as curl's `--resolve`), for hops to the URL's own authority.
    pub async fn send_to(&self, request: &HttpRequest, address: SocketAddr) -> ProbeResult {
        self.send_via(request, Some(address)).await
    }

    async fn send_via(&self, request: &HttpRequest, connect_to: Option<SocketAddr>) -> ProbeResult {
        let started = Instant::now();
        let mut result = ProbeResult::default();
        let outcome = tokio::time::timeout(request.timeout, self.follow(request, connect_to, &mut result)).await;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(failure)) => result.failure = Some(failure),
            Err(_) => {
                let https = request.url.scheme_str() == Some("https");
                result.failure = Some(ProbeFailure::timed_out(request.timeout, result.progress(https)));
            }
        }
        result.response_time = started.elapsed();
        result
    }

    async fn follow(&self, request: &HttpRequest, connect_to: Option<SocketAddr>, result: &mut ProbeResult) -> Result<(), ProbeFailure> {
        let mut url = request.url.clone();
        let mut method = request.method.clone();
        let mut body = request.body.clone();
        let mut visited = vec![url.to_string()];
        for _ in 0..=MAX_REDIRECTS {
            *result = ProbeResult::default();
            // Only hops to the same scheme and authority (a redirect to https changes the port).
            let address = connect_to.filter(|_| url.scheme_str() == request.url.scheme_str() && url.authority() == request.url.authority());
            let location = self.once(request, &method, &url, body.clone(), address, result).await?;
            let Some(location) = location.filter(|_| request.follow_redirects) else { return Ok(()) };
            url = join(&url, &location).map_err(|error| ProbeFailure::new(FailureCode::HttpRedirects, error))?;
            if visited.contains(&url.to_string()) {
                let chain = visited.join(" -> ");
                return Err(ProbeFailure::new(FailureCode::HttpRedirectLoop, format!("a redirect loop: {chain} -> {url}")));
            }
            visited.push(url.to_string());
            // 303, and 301/302 after a POST, switch to GET as browsers do.
            if result.status == Some(303) || (matches!(result.status, Some(301 | 302)) && method == Method::POST) {
                method = Method::GET;
                body = None;
            }
        }
        Err(ProbeFailure::new(FailureCode::HttpRedirects, format!("more than {MAX_REDIRECTS} redirects (a loop?)")))
    }

    /// One hop. Returns the redirect location for 3xx answers that carry one.
    async fn once(
        &self,
        request: &HttpRequest,
        method: &Method,
        url: &Uri,
        body: Option<Bytes>,
        connect_to: Option<SocketAddr>,
        result: &mut ProbeResult,
    ) -> Result<Option<String>, ProbeFailure> {
        let invalid = |cause: String| ProbeFailure::new(FailureCode::ProbeInvalid, cause);
        let https = match url.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => return Err(invalid(format!("unsupported scheme {other:?}"))),
        };
        let host =
            url.host().ok_or_else(|| invalid("url has no host".to_owned()))?.trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = url.port_u16().unwrap_or(if https { 443 } else { 80 });

        let (address, dns) = match connect_to {
            Some(address) => (address, None),
            None => resolve(&host, port).await?,
        };
        result.timings.dns = dns;
        result.address = Some(address);

        let connect_started = Instant::now();
        let tcp = TcpStream::connect(address).await.map_err(|error| ProbeFailure::connect(address, &error))?;
        let _ = tcp.set_nodelay(true);
        result.timings.connect = Some(connect_started.elapsed());
        result.connected = true;

        let stream: Box<dyn Io> = if https {
            let config = if request.verify_tls { self.tls.verified.clone() } else { self.tls.unverified.clone() };
            let server_name =
                rustls::pki_types::ServerName::try_from(host.clone()).map_err(|_| invalid(format!("invalid TLS server name `{host}`")))?;
            let tls_started = Instant::now();
            let tls = tokio_rustls::TlsConnector::from(Arc::clone(&config))
                .connect(server_name, tcp)
                .await
                .map_err(|error| tls_failure(address, &error))?;
            result.timings.tls = Some(tls_started.elapsed());
            result.certificate_expires_at =
                tls.get_ref().1.peer_certificates().and_then(|chain| chain.first()).and_then(certificate_expiry);
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let (stream, first_bytes) = Recording::new(stream);

        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| ProbeFailure::new(FailureCode::HttpNoResponse, format!("http handshake with {address} failed: {error}")))?;
        let connection = tokio::spawn(connection);
        let _abort = AbortOnDrop(connection);

        let path = url.path_and_query().map_or("/", |path| path.as_str());
        let mut builder = Request::builder().method(method.clone()).uri(path);
        // The request's own Host and User-Agent replace the defaults (a health
        // checker's `Host: IP:PORT`).
        let has = |wanted: &HeaderName| request.headers.keys().any(|name| name.eq_ignore_ascii_case(wanted.as_str()));
        if request.host_from_address {
            builder = builder.header(HOST, address.to_string());
        } else if !has(&HOST) {
            builder = builder.header(HOST, host_header(url));
        }
        if !has(&USER_AGENT) {
            builder = builder.header(USER_AGENT, concat!("Vigil/", env!("CARGO_PKG_VERSION")));
        }
        // Every check is a connection of its own: saying so lets the server close first,
        // so the closed connection waits out TIME_WAIT on its side, not in this host's
        // ephemeral ports (at 10,000 checks a second those filled, and each connect
        // searched past them). Go's client does the same without keep-alives.
        if !has(&CONNECTION) {
            builder = builder.header(CONNECTION, HeaderValue::from_static("close"));
        }
        for (name, value) in &request.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid(format!("invalid header name `{name}`")))?;
            let value = HeaderValue::from_str(value).map_err(|_| invalid(format!("invalid value for header `{name}`")))?;
            builder = builder.header(name, value);
        }
        let http_request =
            builder.body(Full::new(body.unwrap_or_default())).map_err(|error| invalid(format!("invalid request: {error}")))?;

        let sent = Instant::now();
        let response = sender.send_request(http_request).await.map_err(|error| response_failure(address, &error, &first_bytes))?;
        result.timings.first_byte = Some(sent.elapsed());
        result.status = Some(response.status().as_u16());
        for name in ["server", "via", "retry-after", "location"] {
            if let Some(value) = response.headers().get(name).and_then(|value| value.to_str().ok()) {
                result.headers.push((name.to_owned(), value.chars().take(200).collect()));
            }
        }
        let location = response
            .status()
            .is_redirection()
            .then(|| response.headers().get(LOCATION).and_then(|value| value.to_str().ok()).map(str::to_owned))
            .flatten();

        let mut body = response.into_body();
        let mut collected = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| {
                ProbeFailure::new(FailureCode::HttpBodyStalled, format!("reading the body from {address} failed: {error}"))
            })?;
            if let Some(data) = frame.data_ref() {
                let room = MAX_BODY_BYTES - collected.len();
                if data.len() > room {
                    collected.extend_from_slice(&data[..room]);
                    result.body_truncated = true;
                    break;
                }
                collected.extend_from_slice(data);
            }
        }
        result.body = collected.freeze();
        Ok(location)
    }
}

/// The first bytes a peer sent, kept by [`Recording`].
#[derive(Clone, Default)]
struct FirstBytes(Arc<std::sync::Mutex<Vec<u8>>>);

impl FirstBytes {
    fn get(&self) -> Vec<u8> {
        self.0.lock().map(|bytes| bytes.clone()).unwrap_or_default()
    }
}

/// A stream that keeps a copy of the first bytes read from it, so a response that is
/// not HTTP can be named (a TLS alert, an `SSH-2.0` banner).
struct Recording<S> {
    inner: S,
    first: FirstBytes,
    /// Set once the first bytes are kept, so later reads skip the lock.
    full: bool,
}

const RECORDED_BYTES: usize = 64;

impl<S> Recording<S> {
    fn new(inner: S) -> (Recording<S>, FirstBytes) {
        let first = FirstBytes::default();
        (Recording { inner, first: first.clone(), full: false }, first)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recording<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if !self.full {
            let mut full = false;
            if let Ok(mut first) = self.first.0.lock() {
                let new = &buf.filled()[before..];
                let room = RECORDED_BYTES - first.len();
                first.extend_from_slice(&new[..new.len().min(room)]);
                full = first.len() >= RECORDED_BYTES;
            }
            self.full = full;
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recording<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<Result<(), hyper::Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The `Host` header sent for `url`: its host, and its port when one is written.
pub fn host_header(url: &Uri) -> String {
    match url.port_u16() {
        Some(port) => format!("{}:{port}", url.host().unwrap_or_default()),
        None => url.host().unwrap_or_default().to_owned(),
    }
}

/// Resolves `host`; the DNS time is `None` for literal IP addresses.
pub(crate) async fn resolve(host: &str, port: u16) -> Result<(SocketAddr, Option<Duration>), ProbeFailure> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok((SocketAddr::new(ip, port), None));
    }
    let started = Instant::now();
    let mut addresses = tokio::net::lookup_host((host, port)).await.map_err(|error| ProbeFailure::lookup(host, &error))?;
    let address = addresses.next().ok_or_else(|| ProbeFailure::new(FailureCode::DnsNoAddress, format!("`{host}` has no address")))?;
    Ok((address, Some(started.elapsed())))
}

/// A failed TLS handshake with `address`, by what rustls says.
pub(crate) fn tls_failure(address: SocketAddr, error: &std::io::Error) -> ProbeFailure {
    use rustls::CertificateError;
    let (code, cause) = match error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(reason)) => match reason {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                (FailureCode::TlsCertExpired, format!("the certificate of {address} has expired"))
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                (FailureCode::TlsCertNotYetValid, format!("the certificate of {address} is not valid yet"))
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                (FailureCode::TlsNameMismatch, format!("the certificate of {address} is for other names: {reason:?}"))
            }
            CertificateError::UnknownIssuer => (
                FailureCode::TlsUntrusted,
                format!("the certificate of {address} is not signed by a trusted authority (self-signed, or a missing intermediate)"),
            ),
            // A self-signed certificate made as a CA (openssl's default) reads so in webpki.
            other if format!("{other:?}").contains("CaUsedAsEndEntity") => {
                (FailureCode::TlsUntrusted, format!("the certificate of {address} is self-signed (a CA certificate used as the server's)"))
            }
            other => (FailureCode::TlsHandshake, format!("the certificate of {address} is invalid: {other:?}")),
        },
        Some(rustls::Error::PeerIncompatible(reason)) => {
            (FailureCode::TlsProtocol, format!("{address} and Vigil share no TLS version or cipher: {reason:?}"))
        }
        Some(rustls::Error::AlertReceived(
            rustls::AlertDescription::ProtocolVersion
            | rustls::AlertDescription::HandshakeFailure
            | rustls::AlertDescription::InsufficientSecurity,
        )) => (FailureCode::TlsProtocol, format!("{address} refused every TLS version and cipher Vigil offers (TLS 1.2 and 1.3)")),
        Some(rustls::Error::InvalidMessage(_)) => {
            (FailureCode::TlsPlainHttp, format!("{address} does not speak TLS (plain HTTP on a TLS URL?)"))
        }
        Some(other) => (FailureCode::TlsHandshake, format!("the TLS handshake with {address} failed: {other}")),
        None if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            (FailureCode::TlsHandshake, format!("{address} closed the connection during the TLS handshake"))
        }
        None => (FailureCode::TlsHandshake, format!("the TLS handshake with {address} failed: {error}")),
    };
    ProbeFailure::new(code, cause)
}

/// A request that got no usable response from `address`; `first_bytes` are what it
/// sent, to tell TLS and other protocols' banners apart.
fn response_failure(address: SocketAddr, error: &hyper::Error, first_bytes: &FirstBytes) -> ProbeFailure {
    let seen = first_bytes.get();
    // A peer that speaks first (an SSH banner) or answers in another protocol: hyper
    // may report a parse error or a cancelled request, depending on when it came.
    if error.is_parse() || (!seen.is_empty() && !seen.starts_with(b"HTTP/")) {
        if seen.len() >= 2 && (seen[0] == 0x15 || seen[0] == 0x16) && seen[1] == 0x03 {
            return ProbeFailure::new(
                FailureCode::HttpTlsExpected,
                format!("{address} answered with TLS: the port serves https, the URL says http"),
            );
        }
        let banner: String = seen
            .iter()
            .take_while(|byte| **byte != b'\r' && **byte != b'\n')
            .take(60)
            .map(|byte| if byte.is_ascii_graphic() || *byte == b' ' { char::from(*byte) } else { '?' })
            .collect();
        let shown = if banner.is_empty() { String::new() } else { format!(": `{banner}`") };
        ProbeFailure::new(FailureCode::HttpNotHttp, format!("{address} answered with something that is not HTTP{shown}"))
    } else if std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionReset)
    {
        ProbeFailure::new(FailureCode::HttpNoResponse, format!("{address} reset the connection without a response"))
    } else if error.is_incomplete_message() || error.is_closed() {
        ProbeFailure::new(FailureCode::HttpNoResponse, format!("{address} closed the connection without a response"))
    } else {
        ProbeFailure::new(FailureCode::HttpNoResponse, format!("no response from {address}: {error}"))
    }
}

/// Resolves a `Location` against the URL it came from.
pub(crate) fn join(base: &Uri, location: &str) -> Result<Uri, String> {
    let invalid = || format!("invalid redirect location `{location}`");
    if let Ok(uri) = location.parse::<Uri>() {
        if uri.scheme().is_some() {
            return Ok(uri);
        }
    }
    let authority = base.authority().ok_or_else(invalid)?;
    let scheme = base.scheme_str().unwrap_or("http");
    let path = if location.starts_with('/') {
        location.to_owned()
    } else {
        let base_path = base.path();
        let directory = &base_path[..base_path.rfind('/').map_or(0, |slash| slash + 1)];
        format!("{directory}{location}")
    };
    format!("{scheme}://{authority}{path}").parse().map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::join;

    #[test]
    fn redirect_locations_resolve_against_the_request() {
        let base: http::Uri = "http://127.0.0.1:8000/a/b?x=1".parse().expect("uri");
        let cases = [
            ("http://other/x", "http://other/x"),
            ("/health", "http://127.0.0.1:8000/health"),
            ("c", "http://127.0.0.1:8000/a/c"),
            ("c?y=2", "http://127.0.0.1:8000/a/c?y=2"),
        ];
        for (location, expected) in cases {
            assert_eq!(join(&base, location).map(|uri| uri.to_string()), Ok(expected.to_owned()), "{location}");
        }
    }
}

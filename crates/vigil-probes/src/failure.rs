//! Why a probe failed, as a stable code and a sentence: `tcp.refused: nothing listens on
//! 10.0.1.5:5000`, not "connection error". One classifier for monitors (outage mails,
//! history, `vigil_check_failures_total{code}`) and, later, `vigil diagnose`.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// The layer and kind of a failure. Its text (`FailureCode::as_str`) is stable: it is
/// a metric label and a documented code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum FailureCode {
    /// The name does not exist (NXDOMAIN).
    DnsNxdomain,
    /// The name exists but has no address (of the family asked for).
    DnsNoAddress,
    /// The resolver failed or could not be reached (SERVFAIL, a temporary failure).
    DnsFailure,
    /// No answer from the resolver in time.
    DnsTimeout,
    /// The connection was refused: nothing listens on the port.
    TcpRefused,
    /// No answer to the connection attempt in time: dropped by a firewall, a security
    /// group or a network ACL, or a host that is off.
    TcpTimeout,
    /// The connection was reset.
    TcpReset,
    /// The host is unreachable (ICMP), or nobody holds the address.
    TcpHostUnreachable,
    /// There is no route to the network.
    TcpNetworkUnreachable,
    /// Connecting failed some other way.
    TcpFailed,
    /// The TLS handshake got no answer in time: probably not a TLS server.
    TlsTimeout,
    TlsCertExpired,
    TlsCertNotYetValid,
    TlsNameMismatch,
    /// Not signed by a trusted authority (self-signed, a private CA, a missing
    /// intermediate).
    TlsUntrusted,
    /// No protocol version or cipher both sides support.
    TlsProtocol,
    /// Any other handshake failure.
    TlsHandshake,
    /// Connected, but no response came in time.
    HttpNoAnswer,
    /// The server closed the connection without a response.
    HttpNoResponse,
    /// What came back is not HTTP.
    HttpNotHttp,
    /// The body stopped arriving after the headers.
    HttpBodyStalled,
    /// More redirects than allowed, or a redirect to where it came from.
    HttpRedirects,
    /// The request could not be made from the configuration (bad URL, header).
    ProbeInvalid,
}

impl FailureCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::DnsNxdomain => "dns.nxdomain",
            FailureCode::DnsNoAddress => "dns.no_address",
            FailureCode::DnsFailure => "dns.failure",
            FailureCode::DnsTimeout => "dns.timeout",
            FailureCode::TcpRefused => "tcp.refused",
            FailureCode::TcpTimeout => "tcp.timeout",
            FailureCode::TcpReset => "tcp.reset",
            FailureCode::TcpHostUnreachable => "tcp.host_unreachable",
            FailureCode::TcpNetworkUnreachable => "tcp.network_unreachable",
            FailureCode::TcpFailed => "tcp.failed",
            FailureCode::TlsTimeout => "tls.timeout",
            FailureCode::TlsCertExpired => "tls.cert_expired",
            FailureCode::TlsCertNotYetValid => "tls.cert_not_yet_valid",
            FailureCode::TlsNameMismatch => "tls.name_mismatch",
            FailureCode::TlsUntrusted => "tls.untrusted",
            FailureCode::TlsProtocol => "tls.protocol",
            FailureCode::TlsHandshake => "tls.handshake",
            FailureCode::HttpNoAnswer => "http.no_answer",
            FailureCode::HttpNoResponse => "http.no_response",
            FailureCode::HttpNotHttp => "http.not_http",
            FailureCode::HttpBodyStalled => "http.body_stalled",
            FailureCode::HttpRedirects => "http.redirects",
            FailureCode::ProbeInvalid => "probe.invalid",
        }
    }
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one probe failed: the code and what happened, in words.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProbeFailure {
    pub code: FailureCode,
    pub cause: String,
}

impl ProbeFailure {
    pub fn new(code: FailureCode, cause: impl Into<String>) -> ProbeFailure {
        ProbeFailure { code, cause: cause.into() }
    }

    /// A failed connect to `address`, by the operating system's error.
    pub fn connect(address: SocketAddr, error: &std::io::Error) -> ProbeFailure {
        use std::io::ErrorKind;
        let (code, cause) = match error.kind() {
            ErrorKind::ConnectionRefused => (FailureCode::TcpRefused, format!("nothing listens on {address} (connection refused)")),
            ErrorKind::TimedOut => {
                (FailureCode::TcpTimeout, format!("no answer from {address}: dropped by a firewall, or the host is off"))
            }
            ErrorKind::ConnectionReset => (FailureCode::TcpReset, format!("{address} reset the connection")),
            ErrorKind::HostUnreachable => (FailureCode::TcpHostUnreachable, format!("{address} is unreachable (no host, or rejected)")),
            ErrorKind::NetworkUnreachable => (FailureCode::TcpNetworkUnreachable, format!("no route to {address}")),
            _ => (FailureCode::TcpFailed, format!("connecting to {address} failed: {error}")),
        };
        ProbeFailure::new(code, cause)
    }

    /// A failed lookup of `host`, by the resolver's error.
    pub fn lookup(host: &str, error: &std::io::Error) -> ProbeFailure {
        let text = error.to_string();
        let code = if text.contains("not known") || text.contains("NXDOMAIN") {
            FailureCode::DnsNxdomain
        } else if text.contains("No address associated") || text.contains("no address") {
            FailureCode::DnsNoAddress
        } else {
            FailureCode::DnsFailure
        };
        let cause = match code {
            FailureCode::DnsNxdomain => format!("the name `{host}` does not exist"),
            FailureCode::DnsNoAddress => format!("`{host}` has no address"),
            _ => format!("looking up `{host}` failed: {text}"),
        };
        ProbeFailure::new(code, cause)
    }

    /// The whole check ran out of time; what it says depends on how far it got.
    pub fn timed_out(timeout: Duration, progress: Progress) -> ProbeFailure {
        let limit = vigil_core::time::format_duration(timeout);
        let (code, cause) = match progress {
            Progress::Resolving => (FailureCode::DnsTimeout, format!("no answer from the resolver within {limit}")),
            Progress::Connecting(address) => {
                (FailureCode::TcpTimeout, format!("no answer from {address} within {limit}: dropped by a firewall, or the host is off"))
            }
            Progress::Handshaking(address) => (
                FailureCode::TlsTimeout,
                format!("{address} accepted but did not complete a TLS handshake within {limit}: not a TLS server?"),
            ),
            Progress::Waiting(address) => {
                (FailureCode::HttpNoAnswer, format!("{address} accepted the request but sent no response within {limit}"))
            }
            Progress::Reading(address) => {
                (FailureCode::HttpBodyStalled, format!("the body from {address} stopped arriving within {limit}"))
            }
        };
        ProbeFailure::new(code, cause)
    }
}

impl fmt::Display for ProbeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.cause)
    }
}

/// How far a check got, for what a timeout means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Resolving,
    Connecting(SocketAddr),
    Handshaking(SocketAddr),
    Waiting(SocketAddr),
    Reading(SocketAddr),
}

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
    /// The resolver answered SERVFAIL: it could not get an answer from the zone.
    DnsServfail,
    /// The resolver failed otherwise or could not be reached (a temporary failure).
    DnsFailure,
    /// No answer from the resolver in time.
    DnsTimeout,
    /// The connection was refused: nothing listens on the port.
    TcpRefused,
    /// No answer to the connection attempt in time: dropped by a firewall, a security
    /// group or a network ACL, or a host that is off.
    TcpTimeout,
    /// No answer on the port while another port of the same host answers: the host is
    /// up and the port is filtered.
    TcpFiltered,
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
    /// Valid, but not for long (within `--cert-warn`).
    TlsCertExpiring,
    TlsNameMismatch,
    /// Not signed by a trusted authority (a private CA).
    TlsUntrusted,
    /// Signed by itself.
    TlsSelfSigned,
    /// The server sends its certificate without the intermediate that signed it.
    TlsIncompleteChain,
    /// No protocol version or cipher both sides support.
    TlsProtocol,
    /// What answered is not TLS: plain HTTP on an `https://` URL.
    TlsPlainHttp,
    /// Any other handshake failure.
    TlsHandshake,
    /// Connected, but no response came in time.
    HttpNoAnswer,
    /// The server closed the connection without a response.
    HttpNoResponse,
    /// What came back is not HTTP.
    HttpNotHttp,
    /// What came back is TLS: an `http://` URL on a TLS port.
    HttpTlsExpected,
    /// The first byte of the response came later than the budget.
    HttpSlow,
    /// The body stopped arriving after the headers.
    HttpBodyStalled,
    /// More redirects than allowed, or a redirect to where it came from.
    HttpRedirects,
    /// A redirect back to a URL already visited.
    HttpRedirectLoop,
    /// 404: the path does not exist.
    HttpNotFound,
    /// Another status the check does not accept (4xx, or outside the matcher).
    HttpStatus,
    /// A 5xx the app itself sent (no proxy named).
    HttpServerError,
    /// 502 from a proxy or load balancer in front.
    LbBadGateway,
    /// 503 from a proxy or load balancer in front.
    LbUnavailable,
    /// 504 from a proxy or load balancer in front.
    LbGatewayTimeout,
    /// The app answers a request by name but rejects the health checker's (`Host: IP:PORT`).
    LbHostRejected,
    /// The health checker gets a redirect, and load balancers do not follow them.
    LbRedirect,
    /// The health path answers 404 while the URL answers: the route is missing.
    HealthRouteMissing,
    /// The health path answers 200 with a body that says it is down.
    HealthReportsDown,
    /// The health path answers an error status.
    HealthStatus,
    /// The request could not be made from the configuration (bad URL, header).
    ProbeInvalid,
}

impl FailureCode {
    /// Every code, in the order of the README's table.
    pub const ALL: [FailureCode; 43] = [
        FailureCode::DnsNxdomain,
        FailureCode::DnsNoAddress,
        FailureCode::DnsServfail,
        FailureCode::DnsFailure,
        FailureCode::DnsTimeout,
        FailureCode::TcpRefused,
        FailureCode::TcpTimeout,
        FailureCode::TcpFiltered,
        FailureCode::TcpReset,
        FailureCode::TcpHostUnreachable,
        FailureCode::TcpNetworkUnreachable,
        FailureCode::TcpFailed,
        FailureCode::TlsTimeout,
        FailureCode::TlsCertExpired,
        FailureCode::TlsCertNotYetValid,
        FailureCode::TlsCertExpiring,
        FailureCode::TlsNameMismatch,
        FailureCode::TlsUntrusted,
        FailureCode::TlsSelfSigned,
        FailureCode::TlsIncompleteChain,
        FailureCode::TlsProtocol,
        FailureCode::TlsPlainHttp,
        FailureCode::TlsHandshake,
        FailureCode::HttpNoAnswer,
        FailureCode::HttpNoResponse,
        FailureCode::HttpNotHttp,
        FailureCode::HttpTlsExpected,
        FailureCode::HttpSlow,
        FailureCode::HttpBodyStalled,
        FailureCode::HttpRedirects,
        FailureCode::HttpRedirectLoop,
        FailureCode::HttpNotFound,
        FailureCode::HttpStatus,
        FailureCode::HttpServerError,
        FailureCode::LbBadGateway,
        FailureCode::LbUnavailable,
        FailureCode::LbGatewayTimeout,
        FailureCode::LbHostRejected,
        FailureCode::LbRedirect,
        FailureCode::HealthRouteMissing,
        FailureCode::HealthReportsDown,
        FailureCode::HealthStatus,
        FailureCode::ProbeInvalid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::DnsNxdomain => "dns.nxdomain",
            FailureCode::DnsNoAddress => "dns.no_address",
            FailureCode::DnsServfail => "dns.servfail",
            FailureCode::DnsFailure => "dns.failure",
            FailureCode::DnsTimeout => "dns.timeout",
            FailureCode::TcpRefused => "tcp.refused",
            FailureCode::TcpTimeout => "tcp.timeout",
            FailureCode::TcpFiltered => "tcp.filtered",
            FailureCode::TcpReset => "tcp.reset",
            FailureCode::TcpHostUnreachable => "tcp.host_unreachable",
            FailureCode::TcpNetworkUnreachable => "tcp.network_unreachable",
            FailureCode::TcpFailed => "tcp.failed",
            FailureCode::TlsTimeout => "tls.timeout",
            FailureCode::TlsCertExpired => "tls.cert_expired",
            FailureCode::TlsCertNotYetValid => "tls.cert_not_yet_valid",
            FailureCode::TlsCertExpiring => "tls.cert_expiring",
            FailureCode::TlsNameMismatch => "tls.name_mismatch",
            FailureCode::TlsUntrusted => "tls.untrusted",
            FailureCode::TlsSelfSigned => "tls.self_signed",
            FailureCode::TlsIncompleteChain => "tls.incomplete_chain",
            FailureCode::TlsProtocol => "tls.protocol",
            FailureCode::TlsPlainHttp => "tls.plain_http",
            FailureCode::TlsHandshake => "tls.handshake",
            FailureCode::HttpNoAnswer => "http.no_answer",
            FailureCode::HttpNoResponse => "http.no_response",
            FailureCode::HttpNotHttp => "http.not_http",
            FailureCode::HttpTlsExpected => "http.tls_expected",
            FailureCode::HttpSlow => "http.slow",
            FailureCode::HttpBodyStalled => "http.body_stalled",
            FailureCode::HttpRedirects => "http.redirects",
            FailureCode::HttpRedirectLoop => "http.redirect_loop",
            FailureCode::HttpNotFound => "http.not_found",
            FailureCode::HttpStatus => "http.status",
            FailureCode::HttpServerError => "http.server_error",
            FailureCode::LbBadGateway => "lb.bad_gateway",
            FailureCode::LbUnavailable => "lb.unavailable",
            FailureCode::LbGatewayTimeout => "lb.gateway_timeout",
            FailureCode::LbHostRejected => "lb.host_rejected",
            FailureCode::LbRedirect => "lb.redirect",
            FailureCode::HealthRouteMissing => "health.route_missing",
            FailureCode::HealthReportsDown => "health.reports_down",
            FailureCode::HealthStatus => "health.status",
            FailureCode::ProbeInvalid => "probe.invalid",
        }
    }
}

impl FailureCode {
    /// The likely cause and one fix, as the README's table of codes says them.
    pub fn explanation(self) -> (&'static str, &'static str) {
        match self {
            FailureCode::DnsNxdomain => ("the name does not exist", "check the name for a typo, and that the record exists in its zone"),
            FailureCode::DnsNoAddress => ("the name has no address", "add an A or AAAA record"),
            FailureCode::DnsServfail => (
                "the resolver could not get an answer from the zone's name servers (down, lame delegation, or DNSSEC failing)",
                "check the zone's name servers and its DNSSEC signatures",
            ),
            FailureCode::DnsFailure => ("the resolver failed or cannot be reached", "check the resolver and the zone's name servers"),
            FailureCode::DnsTimeout => ("the resolver did not answer", "check /etc/resolv.conf and the network to the resolver"),
            FailureCode::TcpRefused => (
                "nothing listens on that port: the app is not running, listens elsewhere, or on 127.0.0.1 only",
                "start the app on 0.0.0.0 and the port the URL names",
            ),
            FailureCode::TcpTimeout => (
                "the connection attempt is dropped: a firewall, security group or network ACL, or the host is off",
                "allow the port from where the probe runs (the LB's security group, for a target)",
            ),
            FailureCode::TcpFiltered => (
                "the host is up but the port is filtered: a firewall, security group or network ACL drops it",
                "allow the port from where the probe runs (the LB's security group, for a target)",
            ),
            FailureCode::TcpReset => ("something in between rejects the connection", "check the firewall or proxy in front"),
            FailureCode::TcpHostUnreachable => ("nobody holds the address, or a firewall rejects it", "check the address and the firewall"),
            FailureCode::TcpNetworkUnreachable => ("there is no route to the network", "check the route tables"),
            FailureCode::TcpFailed => ("connecting failed", "see the cause"),
            FailureCode::TlsTimeout => ("not a TLS server", "use http://, or the port that serves TLS"),
            FailureCode::TlsCertExpired => ("the certificate has expired", "renew the certificate"),
            FailureCode::TlsCertNotYetValid => ("the certificate is not valid yet", "check the clocks of the server and the prober"),
            FailureCode::TlsCertExpiring => ("the certificate expires soon", "renew the certificate (is automatic renewal running?)"),
            FailureCode::TlsNameMismatch => {
                ("the certificate is for other names", "use a name the certificate covers, or a certificate for this one")
            }
            FailureCode::TlsUntrusted => (
                "not signed by a trusted authority: a private CA",
                "use a certificate from a public CA, or trust the private CA (--ca-file)",
            ),
            FailureCode::TlsSelfSigned => ("the certificate is self-signed", "use a certificate from a CA, or trust this one (--ca-file)"),
            FailureCode::TlsIncompleteChain => (
                "the server sends its certificate without the intermediate that signed it (browsers may cope; other clients fail)",
                "serve the full chain (the certificate followed by its intermediates, e.g. fullchain.pem)",
            ),
            FailureCode::TlsProtocol => ("no TLS version or cipher in common", "enable TLS 1.2 or 1.3 on the server"),
            FailureCode::TlsPlainHttp => {
                ("the server speaks plain HTTP on this port", "use http:// for this port, or the port that serves TLS")
            }
            FailureCode::TlsHandshake => ("the handshake failed: the server broke off", "see the cause"),
            FailureCode::HttpNoAnswer => ("the app accepted the connection but never answered", "look at the app: stuck, or overloaded"),
            FailureCode::HttpNoResponse => {
                ("the connection closed without a response", "look at the app's logs: it crashed on the request, or a proxy dropped it")
            }
            FailureCode::HttpNotHttp => ("another service answers on that port", "use the port the HTTP server listens on"),
            FailureCode::HttpTlsExpected => ("the port serves TLS", "use https:// for this port"),
            FailureCode::HttpSlow => {
                ("the app takes long to start answering", "look at the app's latency: a slow dependency, or too few workers")
            }
            FailureCode::HttpBodyStalled => ("the response stopped after its headers", "look at the app: it stalls mid-response"),
            FailureCode::HttpRedirects => {
                ("a redirect loop, or too many redirects", "fix the redirect (http to https and back, a trailing slash)")
            }
            FailureCode::HttpRedirectLoop => {
                ("the redirects lead back to a URL already visited", "fix the redirect rules (http to https and back, a trailing slash)")
            }
            FailureCode::HttpNotFound => ("the path does not exist on the server", "check the path, or add the route"),
            FailureCode::HttpStatus => ("the server refuses the request", "see the status: authentication, the Host header, the method"),
            FailureCode::HttpServerError => ("the app failed on the request", "look at the app's logs"),
            FailureCode::LbBadGateway => (
                "the proxy or load balancer got no valid answer from the app: crashed, wrong port, or it closed the connection",
                "check that the app runs and listens on the target port",
            ),
            FailureCode::LbUnavailable => {
                ("no healthy target behind the proxy or load balancer, or the app is overloaded", "check the targets' health checks")
            }
            FailureCode::LbGatewayTimeout => (
                "the app behind the proxy answered too slowly, or the proxy cannot reach it",
                "check the app's latency and the proxy's timeout, and that the proxy may reach the target port",
            ),
            FailureCode::LbHostRejected => (
                "the app checks the Host header and rejects the health checker's (an IP address): Django's ALLOWED_HOSTS, a virtual host",
                "allow the target's IP in the app's allowed hosts, or answer the health path for any Host",
            ),
            FailureCode::LbRedirect => (
                "the health path redirects, and a load balancer's health check does not follow redirects",
                "make the health path answer 200 itself (no redirect to https or a login page), or widen the matcher",
            ),
            FailureCode::HealthRouteMissing => {
                ("the app has no health route", "add the health route to the app, or point the health check at a path that exists")
            }
            FailureCode::HealthReportsDown => ("the app says it is unhealthy", "look at the failing dependency the body names"),
            FailureCode::HealthStatus => ("the health route reports an error", "fix what the health route reports"),
            FailureCode::ProbeInvalid => ("the request cannot be made", "fix the URL or the header"),
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

#[cfg(test)]
mod tests {
    use super::FailureCode;

    /// Every code is a row of the README's table, and nothing else is.
    #[test]
    fn the_readme_documents_every_code() {
        let readme = include_str!("../../../README.md");
        let table = &readme[readme.find("## Failure codes").expect("section")..];
        let rows: Vec<&str> = table
            .lines()
            .skip_while(|line| !line.starts_with("| `"))
            .take_while(|line| line.starts_with("| `"))
            .filter_map(|line| line.split('`').nth(1))
            .collect();
        let codes: Vec<&str> = FailureCode::ALL.iter().map(|code| code.as_str()).collect();
        assert_eq!(rows, codes, "the README's table and FailureCode::ALL differ");
        for code in FailureCode::ALL {
            let (likely, fix) = code.explanation();
            assert!(!likely.is_empty() && !fix.is_empty(), "{code}");
        }
    }
}

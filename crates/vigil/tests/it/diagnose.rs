//! `vigil diagnose` through the real binary, against loopback peers that break a
//! connection in each way one machine can reproduce: a stub DNS server (NXDOMAIN,
//! SERVFAIL, a dropped query, IPv6 only), listeners that hold, hang up, speak SSH or
//! TLS, certificates made here (expired, not yet valid, wrong name, self-signed, an
//! intermediate left out, expiring soon), redirect chains and loops, health routes
//! that say DOWN or reject the checker's Host, and Debian's nginx in front of a dead and
//! a slow backend. The filtered, rejected and unroutable cases are in `netns.rs`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::helpers::vigil_command;

/// Runs `vigil diagnose ARGS --json`; the exit code and the layers by name.
pub async fn diagnose(args: Vec<String>) -> (Option<i32>, std::collections::BTreeMap<String, serde_json::Value>, String) {
    let mut all = vec!["diagnose".to_owned()];
    all.extend(args);
    all.push("--json".to_owned());
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || vigil_command(&all.iter().map(String::as_str).collect::<Vec<_>>())).await.expect("join");
    let layers = stdout
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|_| panic!("json: {line}\n{stderr}")))
        .map(|layer| (layer["layer"].as_str().unwrap_or_default().to_owned(), layer))
        .collect();
    (code, layers, format!("{stdout}{stderr}"))
}

/// The one failed layer: its name and code.
pub fn failed(layers: &std::collections::BTreeMap<String, serde_json::Value>) -> Vec<(String, String)> {
    layers
        .values()
        .filter(|layer| layer["status"] == "fail")
        .map(|layer| (layer["layer"].as_str().unwrap_or_default().to_owned(), layer["code"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

/// A loopback listener that runs `answer` on each connection.
async fn server<F, Fut>(answer: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move { answer(stream).await });
        }
    });
    address
}

/// Reads one request head from `stream`.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A server that answers each request head with what `respond` returns.
async fn http_server(respond: fn(&str) -> String) -> SocketAddr {
    server(move |mut stream| async move {
        loop {
            let head = read_head(&mut stream).await;
            if head.is_empty() {
                return;
            }
            if stream.write_all(respond(&head).as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await
}

fn response(status: &str, headers: &str, body: &str) -> String {
    format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n{headers}\r\n{body}", body.len())
}

fn path_of(head: &str) -> &str {
    head.split_whitespace().nth(1).unwrap_or("/")
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_that_break_after_connecting_have_their_codes() {
    let hold = server(|stream| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stream);
    })
    .await;
    let fin = server(|mut stream| async move {
        read_head(&mut stream).await;
        let _ = stream.shutdown().await;
    })
    .await;
    let reset = server(|mut stream| async move {
        read_head(&mut stream).await;
        let _ = stream.set_zero_linger();
        drop(stream);
    })
    .await;
    let ssh = server(|mut stream| async move {
        let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n").await;
        read_head(&mut stream).await;
    })
    .await;
    let stall = server(|mut stream| async move {
        read_head(&mut stream).await;
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial").await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let slow = http_server(|_| {
        std::thread::sleep(Duration::from_millis(400));
        response("200 OK", "", "ok")
    })
    .await;
    let cases = [
        (format!("http://{hold}/"), "http", "http.no_answer"),
        (format!("http://{fin}/"), "http", "http.no_response"),
        (format!("http://{reset}/"), "http", "http.no_response"),
        (format!("http://{ssh}/"), "http", "http.not_http"),
        (format!("http://{stall}/"), "http", "http.body_stalled"),
        (format!("http://{slow}/"), "http", "http.slow"),
    ];
    for (url, layer, code) in cases {
        let (exit, layers, output) = diagnose(args(&[&url, "--timeout", "1s", "--slow", "200ms", "--health", "none"])).await;
        assert_eq!(exit, Some(1), "{url}: {output}");
        assert_eq!(failed(&layers), vec![(layer.to_owned(), code.to_owned())], "{url}: {output}");
        if code == "http.not_http" {
            assert!(layers["http"]["cause"].as_str().is_some_and(|cause| cause.contains("SSH-2.0-OpenSSH_9.2p1")), "{output}");
        }
        if url.contains(&reset.to_string()) {
            assert!(layers["http"]["cause"].as_str().is_some_and(|cause| cause.contains("reset")), "{output}");
        }
        if code == "http.slow" {
            assert!(layers["http"]["cause"].as_str().is_some_and(|cause| cause.contains("budget 200ms")), "{output}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn statuses_are_read_as_who_sent_them_means_them() {
    let app = http_server(|head| match path_of(head) {
        "/" => response("200 OK", "", "home"),
        "/private" => response("401 Unauthorized", "www-authenticate: Basic\r\n", ""),
        "/boom" => response("500 Internal Server Error", "", "boom"),
        "/haproxy" => response(
            "503 Service Unavailable",
            "cache-control: no-cache\r\n",
            "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n",
        ),
        path if path.starts_with("/r/") => {
            let hop: u32 = path[3..].parse().unwrap_or_default();
            response("302 Found", &format!("location: /r/{}\r\n", hop + 1), "")
        }
        _ => response("404 Not Found", "", "no"),
    })
    .await;
    let cases = [
        ("/missing", "http.not_found", "/missing answers 404 while / answers 200"),
        ("/private", "http.status", "401 (authentication required)"),
        ("/boom", "http.server_error", "answered 500"),
        ("/haproxy", "lb.unavailable", "answered 503"),
        ("/r/0", "http.redirects", "more than 10 redirects"),
    ];
    for (path, code, says) in cases {
        let url = format!("http://{app}{path}");
        let (exit, layers, output) = diagnose(args(&[&url, "--health", "none"])).await;
        assert_eq!(exit, Some(1), "{url}: {output}");
        assert_eq!(failed(&layers), vec![("http".to_owned(), code.to_owned())], "{url}: {output}");
        assert!(layers["http"]["cause"].as_str().is_some_and(|cause| cause.contains(says)), "{url}: {output}");
        if code == "lb.unavailable" {
            assert!(layers["http"]["likely_cause"].as_str().is_some_and(|likely| likely.starts_with("on HAProxy")), "{output}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_are_shown_and_a_loop_is_named() {
    let chain = http_server(|head| match path_of(head) {
        "/" => response("301 Moved Permanently", "location: /a\r\n", ""),
        "/a" => response("302 Found", "location: /b\r\n", ""),
        "/loop" => response("302 Found", "location: /loop2\r\n", ""),
        "/loop2" => response("302 Found", "location: /loop\r\n", ""),
        _ => response("200 OK", "", r#"{"status":"UP"}"#),
    })
    .await;
    let (exit, layers, output) = diagnose(args(&[&format!("http://{chain}/")])).await;
    assert_eq!(exit, Some(0), "{output}");
    let hops = layers["http"]["evidence"]["redirects"].as_array().expect("redirects");
    assert_eq!(hops.iter().map(|hop| hop["status"].as_u64()).collect::<Vec<_>>(), [Some(301), Some(302), Some(200)], "{output}");
    assert!(layers["http"]["evidence"]["note"].as_str().is_some_and(|note| note.contains("do not follow redirects")), "{output}");

    let (exit, layers, output) = diagnose(args(&[&format!("http://{chain}/loop")])).await;
    assert_eq!(exit, Some(1), "{output}");
    assert_eq!(failed(&layers), vec![("http".to_owned(), "http.redirect_loop".to_owned())], "{output}");
    assert!(layers["http"]["cause"].as_str().is_some_and(|cause| cause.contains("/loop2 -> ")), "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_routes_that_say_down_or_reject_the_checker() {
    let app = http_server(|head| {
        let by_ip = head.lines().any(|line| line.to_ascii_lowercase().starts_with("host: 127.0.0.1"));
        match path_of(head) {
            "/down" => response("200 OK", "", r#"{"status":"UP","checks":{"db":{"status":"UP"},"queue":{"status":"DOWN"}}}"#),
            "/busy" => response("503 Service Unavailable", "retry-after: 30\r\n", "busy"),
            "/moved" => response("301 Moved Permanently", "location: https://example.test/health\r\n", ""),
            "/hop" => response("302 Found", "location: http://127.0.0.1:1/health\r\n", ""),
            // A virtual-host check, as Django's ALLOWED_HOSTS makes it.
            "/strict" if by_ip => response("400 Bad Request", "", "Invalid HTTP_HOST header"),
            _ => response("200 OK", "", "ok"),
        }
    })
    .await;
    let by_name = format!("http://localhost:{}/", app.port());
    let cases = [
        (vec![by_name.clone(), "--health".into(), "/down".into()], "health.reports_down", "`queue`"),
        (vec![by_name.clone(), "--health".into(), "/busy".into()], "health.status", "Retry-After: 30"),
        (vec![by_name.clone(), "--health".into(), "/moved".into(), "--as-lb".into(), "alb".into()], "lb.redirect", "does not follow"),
        (vec![by_name.clone(), "--health".into(), "/strict".into(), "--as-lb".into(), "alb".into()], "lb.host_rejected", "Host: 127.0.0.1"),
    ];
    for (arguments, code, says) in cases {
        let (exit, layers, output) = diagnose(arguments.clone()).await;
        assert_eq!(exit, Some(1), "{arguments:?}: {output}");
        assert_eq!(failed(&layers), vec![("health".to_owned(), code.to_owned())], "{arguments:?}: {output}");
        assert!(layers["health"]["cause"].as_str().is_some_and(|cause| cause.contains(says)), "{arguments:?}: {output}");
    }
    // Without --as-lb the strict route answers by name; the ALB checker's request is
    // exactly its own.
    let (exit, _, output) = diagnose(vec![by_name.clone(), "--health".into(), "/strict".into()]).await;
    assert_eq!(exit, Some(0), "{output}");
    let (exit, layers, output) = diagnose(vec![by_name.clone(), "--health".into(), "/".into(), "--as-lb".into(), "alb".into()]).await;
    assert_eq!(exit, Some(0), "{output}");
    let sent = &layers["health"]["evidence"]["request_headers"];
    assert_eq!((sent["Host"].as_str(), sent["User-Agent"].as_str()), (Some(app.to_string().as_str()), Some("ELB-HealthChecker/2.0")));
    // A kubelet follows redirects (here to a closed port) and says who it is.
    let (exit, layers, output) = diagnose(vec![by_name.clone(), "--health".into(), "/hop".into(), "--as-lb".into(), "k8s".into()]).await;
    assert_eq!(exit, Some(1), "{output}");
    assert_eq!(layers["health"]["evidence"]["request_headers"]["User-Agent"], "kube-probe/1.31", "{output}");
    assert_eq!(layers["health"]["code"], "tcp.refused", "{output}");
    // The same app at its IPv6 loopback address is refused: it listens on 127.0.0.1.
    let (exit, layers, output) = diagnose(vec![format!("http://[::1]:{}/", app.port()), "--health".into(), "none".into()]).await;
    assert_eq!(exit, Some(1), "{output}");
    assert_eq!(layers["tcp"]["code"], "tcp.refused", "{output}");
}

// --- DNS -------------------------------------------------------------------------

/// A stub DNS server on 127.0.0.1, UDP and TCP on one port: `nx.test` NXDOMAIN,
/// `fail.test` SERVFAIL, `drop.test` never answered, `v6.test` AAAA ::1 only,
/// `two.test` 127.0.0.1 and 127.0.0.2, `big.test` truncated over UDP and whole over
/// TCP, anything else A 127.0.0.1.
async fn dns_stub() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let address = socket.local_addr().expect("address");
    let tcp = TcpListener::bind(address).await.expect("bind tcp");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = tcp.accept().await {
            let mut length = [0u8; 2];
            if stream.read_exact(&mut length).await.is_err() {
                continue;
            }
            let mut query = vec![0u8; usize::from(u16::from_be_bytes(length))];
            if stream.read_exact(&mut query).await.is_err() {
                continue;
            }
            if let Some(answer) = dns_answer(&query, true) {
                let _ = stream.write_all(&(answer.len() as u16).to_be_bytes()).await;
                let _ = stream.write_all(&answer).await;
            }
        }
    });
    tokio::spawn(async move {
        let mut buffer = [0u8; 1500];
        while let Ok((read, from)) = socket.recv_from(&mut buffer).await {
            if let Some(answer) = dns_answer(&buffer[..read], false) {
                let _ = socket.send_to(&answer, from).await;
            }
        }
    });
    address
}

fn dns_answer(query: &[u8], tcp: bool) -> Option<Vec<u8>> {
    use hickory_proto::op::{Message, MessageType, ResponseCode};
    use hickory_proto::rr::rdata::{A, AAAA};
    use hickory_proto::rr::{RData, Record, RecordType};
    let query = Message::from_vec(query).ok()?;
    let question = query.queries.first().cloned()?;
    let name = question.name().to_ascii().trim_end_matches('.').to_owned();
    let mut answer = Message::response(query.metadata.id, query.metadata.op_code);
    answer.metadata.message_type = MessageType::Response;
    answer.metadata.recursion_available = true;
    answer.add_query(question.clone());
    let kind = question.query_type();
    let a = |last: u8| Record::from_rdata(question.name().clone(), 60, RData::A(A(std::net::Ipv4Addr::new(127, 0, 0, last))));
    match name.as_str() {
        "drop.test" => return None,
        "nx.test" => answer.metadata.response_code = ResponseCode::NXDomain,
        "fail.test" => answer.metadata.response_code = ResponseCode::ServFail,
        "refused.test" => answer.metadata.response_code = ResponseCode::Refused,
        "v6.test" if kind == RecordType::AAAA => {
            answer.answers.push(Record::from_rdata(question.name().clone(), 60, RData::AAAA(AAAA(std::net::Ipv6Addr::LOCALHOST))));
        }
        "v6.test" => {}
        "two.test" if kind == RecordType::A => answer.answers.extend([a(1), a(2)]),
        "big.test" if kind == RecordType::A && !tcp => answer.metadata.truncation = true,
        "big.test" if kind == RecordType::A => answer.answers.extend([a(1), a(3), a(4)]),
        _ if kind == RecordType::A => answer.answers.push(a(1)),
        _ => {}
    }
    answer.to_vec().ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_failures_are_told_apart_through_a_resolver() {
    let resolver = dns_stub().await.to_string();
    let app = http_server(|_| response("200 OK", "", "ok")).await;
    let port = app.port();
    let (exit, layers, output) = diagnose(args(&[&format!("http://ok.test:{port}/"), "--resolver", &resolver, "--health", "none"])).await;
    assert_eq!(exit, Some(0), "{output}");
    assert_eq!(layers["dns"]["evidence"]["addresses"], serde_json::json!(["127.0.0.1"]), "{output}");
    // A truncated answer is asked again over TCP.
    let (exit, layers, output) = diagnose(args(&[&format!("http://big.test:{port}/"), "--resolver", &resolver, "--health", "none"])).await;
    assert_eq!(exit, Some(0), "{output}");
    assert_eq!(layers["dns"]["evidence"]["addresses"], serde_json::json!(["127.0.0.1", "127.0.0.3", "127.0.0.4"]), "{output}");

    let cases = [
        ("nx.test", vec![], "dns.nxdomain"),
        ("fail.test", vec![], "dns.servfail"),
        ("drop.test", vec![], "dns.timeout"),
        ("refused.test", vec![], "dns.failure"),
        ("v6.test", vec!["-4"], "dns.no_address"),
    ];
    for (name, extra, code) in cases {
        let mut arguments = args(&[&format!("http://{name}:{port}/"), "--resolver", &resolver, "--timeout", "1s"]);
        arguments.extend(extra.iter().map(|item| (*item).to_owned()));
        let (exit, layers, output) = diagnose(arguments).await;
        assert_eq!(exit, Some(1), "{name}: {output}");
        assert_eq!(failed(&layers), vec![("dns".to_owned(), code.to_owned())], "{name}: {output}");
        if code == "dns.no_address" {
            assert!(layers["dns"]["cause"].as_str().is_some_and(|cause| cause.contains("::1")), "names what it has: {output}");
        }
    }
    // Two addresses, only the first listening: one answering suffices, as a client
    // falls back; with --all-addresses each must.
    let two = format!("http://two.test:{port}/");
    let (exit, layers, output) = diagnose(args(&[&two, "--resolver", &resolver, "--health", "none"])).await;
    assert_eq!(exit, Some(0), "{output}");
    assert!(layers["tcp"]["evidence"]["note"].as_str().is_some_and(|note| note.contains("127.0.0.2")), "{output}");
    let (exit, layers, output) = diagnose(args(&[&two, "--resolver", &resolver, "--health", "none", "--all-addresses"])).await;
    assert_eq!(exit, Some(1), "{output}");
    assert_eq!(failed(&layers), vec![("tcp".to_owned(), "tcp.refused".to_owned())], "{output}");
    let tried: Vec<&str> =
        layers["tcp"]["evidence"]["addresses"].as_array().expect("addresses").iter().filter_map(|a| a["result"].as_str()).collect();
    assert_eq!(tried, ["connected", "tcp.refused"], "{output}");

    let (exit, _, output) = diagnose(args(&["http://ok.test/", "--resolver", "not-an-ip"])).await;
    assert_eq!(exit, Some(2), "{output}");
}

// --- TLS -------------------------------------------------------------------------

struct Pki {
    root_pem: String,
    root: rcgen::Issuer<'static, rcgen::KeyPair>,
    intermediate_der: Vec<u8>,
    intermediate: rcgen::Issuer<'static, rcgen::KeyPair>,
}

fn ca(name: &str) -> rcgen::CertificateParams {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    params
}

fn pki() -> Pki {
    let root_key = rcgen::KeyPair::generate().expect("key");
    let root_params = ca("Vigil Test Root");
    let root_cert = root_params.self_signed(&root_key).expect("root");
    let root = rcgen::Issuer::new(root_params, root_key);
    let intermediate_key = rcgen::KeyPair::generate().expect("key");
    let intermediate_params = ca("Vigil Test Intermediate");
    let intermediate_cert = intermediate_params.signed_by(&intermediate_key, &root).expect("intermediate");
    Pki {
        root_pem: root_cert.pem(),
        root,
        intermediate_der: intermediate_cert.der().to_vec(),
        intermediate: rcgen::Issuer::new(intermediate_params, intermediate_key),
    }
}

/// A leaf for `names`, valid over `days` from now (negative: in the past).
fn leaf(names: &[&str], days: (i64, i64)) -> (rcgen::CertificateParams, rcgen::KeyPair) {
    let mut params = rcgen::CertificateParams::new(names.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>()).expect("params");
    params.distinguished_name.push(rcgen::DnType::CommonName, names[0]);
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now + time::Duration::days(days.0);
    params.not_after = now + time::Duration::days(days.1);
    (params, rcgen::KeyPair::generate().expect("key"))
}

/// A TLS server on loopback presenting `chain` (DER, leaf first), TLS 1.3 only when asked.
async fn tls_server(chain: Vec<Vec<u8>>, key: &rcgen::KeyPair, tls13_only: bool) -> SocketAddr {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider);
    let builder = if tls13_only {
        builder.with_protocol_versions(&[&rustls::version::TLS13]).expect("versions")
    } else {
        builder.with_safe_default_protocol_versions().expect("versions")
    };
    let config = builder
        .with_no_client_auth()
        .with_single_cert(
            chain.into_iter().map(CertificateDer::from).collect(),
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    server(move |stream| {
        let acceptor = acceptor.clone();
        async move {
            let Ok(mut tls) = acceptor.accept(stream).await else { return };
            let mut buffer = [0u8; 2048];
            let _ = tls.read(&mut buffer).await;
            let body = r#"{"status":"UP"}"#;
            let _ = tls.write_all(response("200 OK", "", body).as_bytes()).await;
            let _ = tls.shutdown().await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_certificate_problem_is_reported() {
    let pki = pki();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.root_pem).expect("write");
    let ca_file = ca_file.to_string_lossy().into_owned();

    let signed = |names: &[&str], days: (i64, i64)| {
        let (params, key) = leaf(names, days);
        let certificate = params.signed_by(&key, &pki.intermediate).expect("leaf");
        (certificate.der().to_vec(), key)
    };
    // Good, with the full chain and the private root trusted.
    let (good, good_key) = signed(&["localhost"], (-1, 90));
    let full = tls_server(vec![good.clone(), pki.intermediate_der.clone()], &good_key, true).await;
    let url = |address: SocketAddr| format!("https://localhost:{}/", address.port());
    let (exit, layers, output) = diagnose(args(&[&url(full), "--ca-file", &ca_file, "--health", "none"])).await;
    assert_eq!(exit, Some(0), "{output}");
    assert_eq!(layers["tls"]["evidence"]["version"], "TLSv1_3", "{output}");
    assert_eq!(layers["tls"]["evidence"]["names"], serde_json::json!(["localhost"]), "{output}");
    // The same server without --ca-file: a private CA nobody trusts.
    let (_, layers, output) = diagnose(args(&[&url(full), "--health", "none"])).await;
    assert_eq!(failed(&layers), vec![("tls".to_owned(), "tls.untrusted".to_owned())], "{output}");
    // The leaf alone: the intermediate is missing.
    let alone = tls_server(vec![good], &good_key, false).await;
    let (_, layers, output) = diagnose(args(&[&url(alone), "--ca-file", &ca_file])).await;
    assert_eq!(failed(&layers), vec![("tls".to_owned(), "tls.incomplete_chain".to_owned())], "{output}");
    assert!(layers["tls"]["cause"].as_str().is_some_and(|cause| cause.contains("Vigil Test Intermediate")), "{output}");

    // Expired, from a CA nobody trusts: both problems.
    let (expired, expired_key) = signed(&["localhost"], (-400, -35));
    let address = tls_server(vec![expired, pki.intermediate_der.clone()], &expired_key, false).await;
    let (exit, layers, output) = diagnose(args(&[&url(address)])).await;
    assert_eq!(exit, Some(1), "{output}");
    let codes: Vec<&str> =
        layers["tls"]["evidence"]["problems"].as_array().expect("problems").iter().filter_map(|p| p["code"].as_str()).collect();
    assert_eq!(codes, ["tls.untrusted", "tls.cert_expired"], "{output}");
    assert!(layers["tls"]["cause"].as_str().is_some_and(|cause| cause.contains("35 days ago")), "{output}");

    /// Names, validity in days from now, the code, what the cause says.
    type Case<'a> = (&'a [&'a str], (i64, i64), &'a str, &'a str);
    let cases: [Case; 3] = [
        (&["localhost"], (30, 400), "tls.cert_not_yet_valid", "in 30 days"),
        (&["api.example.test", "www.example.test"], (-1, 90), "tls.name_mismatch", "api.example.test, www.example.test"),
        (&["localhost"], (-80, 5), "tls.cert_expiring", "days (warning at 14d)"),
    ];
    for (names, days, code, says) in cases {
        let (certificate, key) = signed(names, days);
        let address = tls_server(vec![certificate, pki.intermediate_der.clone()], &key, false).await;
        let (exit, layers, output) = diagnose(args(&[&url(address), "--ca-file", &ca_file, "--health", "none"])).await;
        assert_eq!(exit, Some(1), "{code}: {output}");
        assert_eq!(failed(&layers), vec![("tls".to_owned(), code.to_owned())], "{code}: {output}");
        assert!(layers["tls"]["cause"].as_str().is_some_and(|cause| cause.contains(says)), "{code}: {output}");
        if code == "tls.cert_expiring" {
            assert_eq!(layers["http"]["status"], "ok", "an expiring certificate still works: {output}");
        }
    }

    // Self-signed.
    let (params, key) = leaf(&["localhost"], (-1, 90));
    let certificate = params.self_signed(&key).expect("self-signed");
    let address = tls_server(vec![certificate.der().to_vec()], &key, false).await;
    let (_, layers, output) = diagnose(args(&[&url(address)])).await;
    assert_eq!(failed(&layers), vec![("tls".to_owned(), "tls.self_signed".to_owned())], "{output}");
    let _ = &pki.root;
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_that_is_not_there_or_not_shared_is_named() {
    // A server that refuses every version offered, as one that speaks only TLS 1.0 does.
    let old = server(|mut stream| async move {
        let mut buffer = [0u8; 2048];
        let _ = stream.read(&mut buffer).await;
        let _ = stream.write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]).await;
    })
    .await;
    // A plain HTTP server answers what is not HTTP with 400, as most do.
    let hangs_up = server(|mut stream| async move {
        let mut buffer = [0u8; 2048];
        let _ = stream.read(&mut buffer).await;
    })
    .await;
    let plain = server(|mut stream| async move {
        let mut buffer = [0u8; 2048];
        let _ = stream.read(&mut buffer).await;
        let _ = stream.write_all(response("400 Bad Request", "connection: close\r\n", "bad request").as_bytes()).await;
    })
    .await;
    let hold = server(|stream| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(stream);
    })
    .await;
    let (params, key) = leaf(&["localhost"], (-1, 90));
    let certificate = params.self_signed(&key).expect("self-signed");
    let tls = tls_server(vec![certificate.der().to_vec()], &key, false).await;
    let cases = [
        (format!("https://{old}/"), "tls", "tls.protocol"),
        (format!("https://{hangs_up}/"), "tls", "tls.handshake"),
        (format!("https://{plain}/"), "tls", "tls.plain_http"),
        (format!("https://{hold}/"), "tls", "tls.timeout"),
        (format!("http://{tls}/"), "http", "http.tls_expected"),
    ];
    for (url, layer, code) in cases {
        let (exit, layers, output) = diagnose(args(&[&url, "--timeout", "1s"])).await;
        assert_eq!(exit, Some(1), "{url}: {output}");
        assert_eq!(failed(&layers), vec![(layer.to_owned(), code.to_owned())], "{url}: {output}");
    }
}

// --- nginx in front --------------------------------------------------------------

/// Debian's nginx on a free port, proxying `/dead` to a closed port and `/slow` to a
/// backend slower than its 1 s read timeout.
struct Nginx {
    dir: tempfile::TempDir,
    port: u16,
}

impl Nginx {
    fn start(slow_backend: SocketAddr) -> Option<Nginx> {
        let binary = ["/usr/sbin/nginx", "/usr/bin/nginx"].into_iter().find(|path| std::path::Path::new(path).exists())?;
        let dir = tempfile::tempdir().ok()?;
        let port = vigil_testkit::free_port();
        let dead = vigil_testkit::free_port();
        let prefix = dir.path().display();
        let config = format!(
            "daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n access_log off;\n client_body_temp_path {prefix}/body;\n proxy_temp_path {prefix}/proxy;\n\
             fastcgi_temp_path {prefix}/fastcgi;\n uwsgi_temp_path {prefix}/uwsgi;\n scgi_temp_path {prefix}/scgi;\n\
             server {{\n  listen 127.0.0.1:{port};\n\
             location /dead {{ proxy_pass http://127.0.0.1:{dead}; }}\n\
             location /slow {{ proxy_pass http://{slow_backend}; proxy_read_timeout 1s; }}\n\
             location / {{ return 200 'ok'; }}\n }}\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), config).ok()?;
        let child = std::process::Command::new(binary)
            .args(["-p", &prefix.to_string(), "-c", &format!("{prefix}/nginx.conf")])
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        std::fs::write(dir.path().join("child.pid"), child.id().to_string()).ok()?;
        vigil_testkit::wait_for_port(port, Duration::from_secs(5)).then_some(Nginx { dir, port })
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("child.pid")) {
            let _ = std::process::Command::new("kill").arg(pid.trim()).status();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn nginx_in_front_of_a_dead_and_a_slow_backend() {
    let slow = http_server(|_| {
        std::thread::sleep(Duration::from_secs(3));
        response("200 OK", "", "late")
    })
    .await;
    let Some(nginx) = Nginx::start(slow) else {
        vigil_testkit::skip_or_fail("nginx (Debian's nginx package)");
        return;
    };
    for (path, code, says) in [("/dead", "lb.bad_gateway", "connect() failed"), ("/slow", "lb.gateway_timeout", "proxy_read_timeout")] {
        let url = format!("http://127.0.0.1:{}{path}", nginx.port);
        let (exit, layers, output) = diagnose(args(&[&url, "--timeout", "4s", "--health", "none"])).await;
        assert_eq!(exit, Some(1), "{url}: {output}");
        assert_eq!(failed(&layers), vec![("http".to_owned(), code.to_owned())], "{url}: {output}");
        assert!(layers["http"]["cause"].as_str().is_some_and(|cause| cause.contains("from nginx")), "names nginx: {output}");
        assert!(layers["http"]["likely_cause"].as_str().is_some_and(|likely| likely.contains(says)), "{output}");
        assert!(layers["http"]["evidence"]["meaning"]["alb"].is_string(), "says what an ALB would mean: {output}");
    }
}

//! The failure classifier against loopback peers that misbehave in each way a probe
//! can see: nothing listening, a listener that never answers, one that hangs up, one
//! that speaks SSH, plain HTTP on an `https://` URL.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vigil_probes::{FailureCode, HttpClient, HttpRequest};

/// A loopback server that runs `answer` on every connection it accepts.
async fn server<F, Fut>(answer: F) -> SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let answer = std::sync::Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move { answer(stream).await });
        }
    });
    address
}

async fn code(url: String) -> Option<FailureCode> {
    let request = HttpRequest {
        method: http::Method::GET,
        url: url.parse().expect("url"),
        headers: Default::default(),
        body: None,
        timeout: Duration::from_millis(500),
        follow_redirects: true,
        verify_tls: true,
        host_from_address: false,
    };
    HttpClient::new().send(&request).await.failure.map(|failure| failure.code)
}

#[tokio::test]
async fn each_way_of_failing_has_its_code() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    assert_eq!(code(format!("http://{closed}/")).await, Some(FailureCode::TcpRefused));

    let silent = server(|stream| async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(stream);
    })
    .await;
    assert_eq!(code(format!("http://{silent}/")).await, Some(FailureCode::HttpNoAnswer));
    assert_eq!(code(format!("https://{silent}/")).await, Some(FailureCode::TlsTimeout));

    let hangs_up = server(|mut stream| async move {
        let mut buffer = [0u8; 1024];
        let _ = stream.read(&mut buffer).await;
    })
    .await;
    assert_eq!(code(format!("http://{hangs_up}/")).await, Some(FailureCode::HttpNoResponse));

    let ssh = server(|mut stream| async move {
        let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n").await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    })
    .await;
    assert_eq!(code(format!("http://{ssh}/")).await, Some(FailureCode::HttpNotHttp));

    let plain = server(|mut stream| async move {
        let mut buffer = [0u8; 1024];
        let _ = stream.read(&mut buffer).await;
        let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
    })
    .await;
    assert_eq!(code(format!("https://{plain}/")).await, Some(FailureCode::TlsPlainHttp));

    let looping = server(|mut stream| async move {
        let mut buffer = [0u8; 1024];
        let _ = stream.read(&mut buffer).await;
        let _ = stream.write_all(b"HTTP/1.1 302 Found\r\nlocation: /again\r\ncontent-length: 0\r\n\r\n").await;
    })
    .await;
    assert_eq!(code(format!("http://{looping}/")).await, Some(FailureCode::HttpRedirectLoop));
}

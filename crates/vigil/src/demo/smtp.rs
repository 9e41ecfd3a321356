//! The demo's mail server: an SMTP sink on loopback that accepts every message and
//! prints its subject and first lines, so a newcomer sees the outage and recovery mails
//! on-call would get. Only for `vigil demo`; it speaks just enough SMTP for Vigil's
//! client (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and keeps nothing.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Longest message the sink reads; the demo's mails are a few KiB.
const MAX_MESSAGE: usize = 1024 * 1024;

/// Starts the sink on a free loopback port; returns its address.
pub async fn start() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Err(error) = session(stream).await {
                    tracing::debug!(%error, "demo smtp session ended");
                }
            });
        }
    });
    Ok(address)
}

async fn session(stream: TcpStream) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 vigil-demo ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-vigil-demo\r\n250 8BITMIME\r\n",
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut message = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 || message.len() > MAX_MESSAGE {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    message.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                print_message(&message);
                b"250 accepted\r\n"
            }
            _ => b"502 not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

fn print_message(message: &str) {
    let (head, body) = message.split_once("\r\n\r\n").or_else(|| message.split_once("\n\n")).unwrap_or((message, ""));
    // Long headers are folded onto lines that start with white space.
    let head = head.replace("\r\n ", " ").replace("\r\n\t", " ").replace("\n ", " ");
    let header = |name: &str| {
        head.lines().find_map(|line| line.split_once(':').filter(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.trim()))
    };
    let body = if header("Content-Transfer-Encoding").is_some_and(|encoding| encoding.eq_ignore_ascii_case("quoted-printable")) {
        quoted_printable(body)
    } else {
        body.to_owned()
    };
    println!(">>> e-mail accepted by the demo's SMTP server: {}", header("Subject").unwrap_or("(no subject)"));
    for line in body.lines().map(str::trim_end).filter(|line| !line.is_empty()).take(3) {
        println!("      {line}");
    }
}

/// Undoes quoted-printable: `=XX` escapes and `=` soft line breaks.
pub fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escape =
            (bytes[index] == b'=').then(|| joined.get(index + 1..index + 3)).flatten().and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escape {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_printable_decodes_escapes_and_soft_breaks() {
        assert_eq!(super::quoted_printable("a=3Db=\r\nc =E2=86=92 d"), "a=bc → d");
    }
}

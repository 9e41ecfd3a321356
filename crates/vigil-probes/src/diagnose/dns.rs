//! The DNS layer: the system resolver (what the app's clients use, `/etc/hosts`
//! included), or one resolver asked directly over UDP (`--resolver IP:PORT`), where the
//! answer's code tells NXDOMAIN from SERVFAIL from an empty answer.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use crate::failure::{FailureCode, ProbeFailure};

/// Which addresses the walk wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    #[default]
    Any,
    V4,
    V6,
}

impl Family {
    fn admits(self, ip: &IpAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => ip.is_ipv4(),
            Family::V6 => ip.is_ipv6(),
        }
    }

    fn record(self) -> &'static str {
        match self {
            Family::Any => "A or AAAA",
            Family::V4 => "A (IPv4)",
            Family::V6 => "AAAA (IPv6)",
        }
    }
}

/// The addresses of `host`, and how long the lookup took.
#[derive(Debug)]
pub struct Found {
    pub addresses: Vec<IpAddr>,
    pub elapsed: Duration,
}

/// Looks `host` up within `deadline`, through `resolver` or the system's.
pub async fn lookup(host: &str, resolver: Option<SocketAddr>, family: Family, deadline: Instant) -> Result<Found, ProbeFailure> {
    let started = Instant::now();
    let wait = deadline.saturating_duration_since(started);
    let answered = match resolver {
        Some(resolver) => tokio::time::timeout(wait, ask(resolver, host, family)).await,
        None => tokio::time::timeout(wait, system(host, family)).await,
    };
    let limit = vigil_core::time::format_duration(super::shown(wait));
    let via = resolver.map_or_else(|| "the system resolver".to_owned(), |resolver| format!("the resolver {resolver}"));
    let addresses = match answered {
        Ok(found) => found?,
        Err(_) => return Err(ProbeFailure::new(FailureCode::DnsTimeout, format!("no answer from {via} for `{host}` within {limit}"))),
    };
    Ok(Found { addresses, elapsed: started.elapsed() })
}

async fn system(host: &str, family: Family) -> Result<Vec<IpAddr>, ProbeFailure> {
    let all: Vec<IpAddr> =
        tokio::net::lookup_host((host, 0)).await.map_err(|error| ProbeFailure::lookup(host, &error))?.map(|a| a.ip()).collect();
    let mut wanted: Vec<IpAddr> = Vec::new();
    for ip in all.iter().filter(|ip| family.admits(ip)) {
        if !wanted.contains(ip) {
            wanted.push(*ip);
        }
    }
    if wanted.is_empty() {
        let others = all.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ");
        return Err(ProbeFailure::new(
            FailureCode::DnsNoAddress,
            format!("`{host}` has no {} address; it resolves to {others}", family.record()),
        ));
    }
    Ok(wanted)
}

/// Asks `resolver` for the A and AAAA records of `host`, both at once.
async fn ask(resolver: SocketAddr, host: &str, family: Family) -> Result<Vec<IpAddr>, ProbeFailure> {
    let failed = |cause: String| ProbeFailure::new(FailureCode::DnsFailure, cause);
    let name = Name::from_ascii(host).map_err(|error| failed(format!("`{host}` is not a valid DNS name: {error}")))?;
    let (v4, v6) = tokio::join!(query(resolver, &name, RecordType::A), query(resolver, &name, RecordType::AAAA));
    let mut addresses = Vec::new();
    for (kind, answer) in [(RecordType::A, v4), (RecordType::AAAA, v6)] {
        let (code, found) = answer.map_err(|error| failed(format!("asking {resolver} for {kind} of `{host}` failed: {error}")))?;
        match code {
            ResponseCode::NoError => addresses.extend(found),
            ResponseCode::NXDomain => {
                return Err(ProbeFailure::new(
                    FailureCode::DnsNxdomain,
                    format!("the name `{host}` does not exist (NXDOMAIN from {resolver})"),
                ))
            }
            ResponseCode::ServFail => {
                return Err(ProbeFailure::new(
                    FailureCode::DnsServfail,
                    format!("the resolver {resolver} failed to answer for `{host}` (SERVFAIL)"),
                ))
            }
            other => return Err(failed(format!("the resolver {resolver} answered {other} for `{host}`"))),
        }
    }
    let wanted: Vec<IpAddr> = addresses.iter().copied().filter(|ip| family.admits(ip)).collect();
    if wanted.is_empty() {
        let others = if addresses.is_empty() {
            "it has no address records".to_owned()
        } else {
            format!("it has {}", addresses.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", "))
        };
        return Err(ProbeFailure::new(FailureCode::DnsNoAddress, format!("`{host}` has no {} record; {others}", family.record())));
    }
    Ok(wanted)
}

/// One question over UDP (over TCP when the answer comes back truncated); the answer's
/// code and its addresses (CNAMEs followed by the resolver, so only the address
/// records are read).
async fn query(resolver: SocketAddr, name: &Name, kind: RecordType) -> std::io::Result<(ResponseCode, Vec<IpAddr>)> {
    let invalid = |error: String| std::io::Error::new(std::io::ErrorKind::InvalidData, error);
    let local: SocketAddr = if resolver.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
    let socket = tokio::net::UdpSocket::bind(local).await?;
    socket.connect(resolver).await?;
    let id = fastrand::u16(..);
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(name.clone(), kind));
    let bytes = message.to_vec().map_err(|error| invalid(error.to_string()))?;
    socket.send(&bytes).await?;
    let mut buffer = vec![0u8; 4096];
    let answer = loop {
        let read = socket.recv(&mut buffer).await?;
        let Ok(answer) = Message::from_vec(&buffer[..read]) else { continue };
        if answer.metadata.id == id && answer.metadata.message_type == MessageType::Response {
            break answer;
        }
    };
    let answer = if answer.metadata.truncation { over_tcp(resolver, &bytes, id).await? } else { answer };
    let addresses = answer
        .answers
        .iter()
        .filter_map(|record| match &record.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
            _ => None,
        })
        .collect();
    Ok((answer.metadata.response_code, addresses))
}

/// The same question over TCP (RFC 1035 4.2.2: each message after its 2-byte length).
async fn over_tcp(resolver: SocketAddr, query: &[u8], id: u16) -> std::io::Result<Message> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let invalid = |error: String| std::io::Error::new(std::io::ErrorKind::InvalidData, error);
    let mut stream = tokio::net::TcpStream::connect(resolver).await?;
    let length = u16::try_from(query.len()).map_err(|_| invalid("query too long".to_owned()))?;
    stream.write_all(&length.to_be_bytes()).await?;
    stream.write_all(query).await?;
    let mut length = [0u8; 2];
    stream.read_exact(&mut length).await?;
    let mut buffer = vec![0u8; usize::from(u16::from_be_bytes(length))];
    stream.read_exact(&mut buffer).await?;
    let answer = Message::from_vec(&buffer).map_err(|error| invalid(error.to_string()))?;
    if answer.metadata.id != id {
        return Err(invalid("the TCP answer is for another query".to_owned()));
    }
    Ok(answer)
}

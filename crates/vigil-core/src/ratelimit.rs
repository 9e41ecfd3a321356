//! Rate limits as token buckets: `N/DURATION` lets N requests through at once and one
//! more every DURATION/N after that. [`Limiter`] keeps a bucket per key (a client's
//! address), at most a given number of keys, and answers with the time until the next
//! request would pass. Time is the caller's: every call takes `now`.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::Duration;

use crate::time::{parse_duration, Timestamp};

/// `count` requests per `per`, e.g. 5 per hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: Duration,
}

impl Rate {
    /// Parses `N/DURATION` (`5/1h`, `100/10m`); N from 1 to 1,000,000, DURATION from one
    /// second to a week.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let expected = || format!("invalid rate `{text}`, expected COUNT/DURATION such as 5/1h");
        let (count, per) = text.trim().split_once('/').ok_or_else(expected)?;
        let count: u32 = count.trim().parse().map_err(|_| expected())?;
        let per = parse_duration(per.trim()).map_err(|_| expected())?;
        if !(1..=1_000_000).contains(&count) {
            return Err(format!("rate `{text}`: the count must be from 1 to 1000000"));
        }
        if per < Duration::from_secs(1) || per > Duration::from_secs(7 * 24 * 3600) {
            return Err(format!("rate `{text}`: the duration must be from 1s to 7d"));
        }
        Ok(Rate { count, per })
    }

    fn per_millis(&self) -> f64 {
        self.per.as_millis() as f64
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.count, humantime::format_duration(self.per))
    }
}

/// Requests left in a bucket (fractions fill in over time) as of `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Timestamp,
}

impl Bucket {
    fn level(&self, rate: &Rate, now: Timestamp) -> f64 {
        let elapsed = (now.0 - self.at.0).max(0) as f64;
        (self.tokens + elapsed * f64::from(rate.count) / rate.per_millis()).min(f64::from(rate.count))
    }
}

/// One bucket per key, at most `max_keys` of them.
#[derive(Debug)]
pub struct Limiter<K> {
    rate: Rate,
    max_keys: usize,
    buckets: HashMap<K, Bucket>,
}

impl<K: Hash + Eq> Limiter<K> {
    pub fn new(rate: Rate, max_keys: usize) -> Limiter<K> {
        Limiter { rate, max_keys: max_keys.max(1), buckets: HashMap::new() }
    }

    /// Takes one request for `key` at `now`: `Ok`, or `Err` with the time until one
    /// would pass. A key not seen before, with every one of `max_keys` buckets still
    /// refilling, waits until the soonest of them is full (then it is forgotten).
    pub fn take(&mut self, key: K, now: Timestamp) -> Result<(), Duration> {
        let rate = self.rate;
        if !self.buckets.contains_key(&key) && self.buckets.len() >= self.max_keys {
            // A full bucket says nothing a new one would not.
            self.buckets.retain(|_, bucket| bucket.level(&rate, now) < f64::from(rate.count));
            if self.buckets.len() >= self.max_keys {
                let soonest = self.buckets.values().map(|bucket| f64::from(rate.count) - bucket.level(&rate, now)).fold(f64::MAX, f64::min);
                return Err(wait(soonest, &rate));
            }
        }
        let bucket = self.buckets.entry(key).or_insert(Bucket { tokens: f64::from(rate.count), at: now });
        let level = bucket.level(&rate, now);
        if level >= 1.0 {
            *bucket = Bucket { tokens: level - 1.0, at: now };
            Ok(())
        } else {
            Err(wait(1.0 - level, &rate))
        }
    }
}

/// How long `missing` requests' worth of tokens take to come back, rounded up to a
/// whole second.
fn wait(missing: f64, rate: &Rate) -> Duration {
    let millis = missing * rate.per_millis() / f64::from(rate.count);
    Duration::from_secs((millis / 1000.0).ceil().max(1.0) as u64)
}

/// The part of an address that names one client: IPv4 whole, IPv6 its /64 (one host
/// commonly holds a whole /64, so single addresses would cost an attacker nothing).
pub fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp(seconds * 1000)
    }

    #[test]
    fn rates_parse_and_refuse_what_they_cannot_mean() {
        let hour = Duration::from_secs(3600);
        let cases: &[(&str, Result<Rate, &str>)] = &[
            ("5/1h", Ok(Rate { count: 5, per: hour })),
            (" 100 / 10m ", Ok(Rate { count: 100, per: Duration::from_secs(600) })),
            ("1/1s", Ok(Rate { count: 1, per: Duration::from_secs(1) })),
            ("5", Err("invalid rate `5`, expected COUNT/DURATION such as 5/1h")),
            ("five/1h", Err("invalid rate `five/1h`, expected COUNT/DURATION such as 5/1h")),
            ("5/soon", Err("invalid rate `5/soon`, expected COUNT/DURATION such as 5/1h")),
            ("0/1h", Err("rate `0/1h`: the count must be from 1 to 1000000")),
            ("-1/1h", Err("invalid rate `-1/1h`, expected COUNT/DURATION such as 5/1h")),
            ("5/500ms", Err("rate `5/500ms`: the duration must be from 1s to 7d")),
            ("5/8d", Err("rate `5/8d`: the duration must be from 1s to 7d")),
        ];
        for (text, expected) in cases {
            assert_eq!(Rate::parse(text), (*expected).map_err(str::to_owned), "{text}");
        }
        assert_eq!(Rate { count: 5, per: hour }.to_string(), "5/1h");
    }

    /// (seconds since the first request, whether it passes, or the wait it is told).
    #[test]
    fn a_bucket_lets_a_burst_through_then_one_per_interval() {
        let rate = Rate::parse("3/1m").expect("rate");
        let steps: &[(i64, Result<(), u64>)] = &[
            (0, Ok(())),
            (0, Ok(())),
            (1, Ok(())),
            (1, Err(19)),  // one token every 20 s; 1/20 of one came back
            (10, Err(10)), // refused requests take nothing
            (20, Ok(())),  // 20 s of refill: one request
            (20, Err(20)),
            (100, Ok(())), // 80 s idle: full again (3), not more
            (100, Ok(())),
            (100, Ok(())),
            (100, Err(20)),
        ];
        let mut limiter = Limiter::new(rate, 10);
        for (index, (second, expected)) in steps.iter().enumerate() {
            let got = limiter.take("client", at(*second)).map_err(|wait| wait.as_secs());
            assert_eq!(got, *expected, "step {index} at {second}s");
        }
    }

    #[test]
    fn keys_have_their_own_buckets_and_their_number_is_bounded() {
        let rate = Rate::parse("1/1m").expect("rate");
        let mut limiter = Limiter::new(rate, 2);
        assert_eq!(limiter.take("a", at(0)), Ok(()));
        assert_eq!(limiter.take("b", at(0)), Ok(()));
        assert_eq!(limiter.take("a", at(0)), Err(Duration::from_secs(60)), "a's own bucket is empty");
        // Both buckets are refilling: a third client waits for the sooner to be full.
        assert_eq!(limiter.take("c", at(30)), Err(Duration::from_secs(30)));
        // Full again after a minute, they are forgotten and make room.
        assert_eq!(limiter.take("c", at(60)), Ok(()));
        assert_eq!(limiter.take("a", at(60)), Ok(()), "a is new again, with a full bucket");
        assert_eq!(limiter.take("d", at(61)), Err(Duration::from_secs(59)));
    }

    #[test]
    fn a_client_is_an_ipv4_address_or_an_ipv6_64() {
        let cases = [
            ("192.0.2.7", "192.0.2.7"),
            ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::"),
            ("2001:db8:1:2::1", "2001:db8:1:2::"),
            ("::ffff:192.0.2.7", "192.0.2.7"),
            ("::1", "::"),
        ];
        for (address, key) in cases {
            let address: IpAddr = address.parse().expect("address");
            assert_eq!(client_key(address), key.parse::<IpAddr>().expect("key"), "{address}");
        }
    }
}

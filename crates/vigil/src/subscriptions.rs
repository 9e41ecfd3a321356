//! E-mail subscriptions to the public status page: double opt-in (a subscription counts
//! once its confirmation link is followed) and one-click unsubscribe (RFC 8058). Links
//! carry the subscriber's id and an HMAC of it and its address under a key kept in the
//! store, so no token is stored and every node checks the same links. Mails go through
//! the outbox and the `status-page.subscriptions.email-via` notifier. Subscribe requests
//! are rate limited per client and for the page as a whole (`per-client`, `per-page`),
//! so the form cannot be used to send mail to addresses in bulk.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use vigil_core::ratelimit::{client_key, Limiter};
use vigil_core::{Clock, Timestamp};
use vigil_store::{NewNotification, Store, StoreError, Subscribed, SubscriberRecord};

use crate::notifiers::message::Message;
use crate::notifiers::subscriber::SubscriberMessage;

/// A confirmation goes out at most this often per address.
const RESEND_AFTER: Duration = Duration::from_secs(600);

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Confirm,
    Unsubscribe,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Confirm => "confirm",
            Purpose::Unsubscribe => "unsubscribe",
        }
    }
}

/// Clients whose buckets are kept at once; past that, new clients wait.
const MAX_CLIENTS: usize = 10_000;

/// The page's limit is said in the log at most this often.
const WARN_EVERY: Duration = Duration::from_secs(600);

/// Why a subscription was refused.
#[derive(Debug)]
pub enum SubscribeError {
    Invalid(String),
    /// Over a rate limit: try again after this long.
    Limited(Duration),
    Store(StoreError),
}

/// The two limits on subscribe requests, and when the page's was last logged.
struct Limits {
    per_client: Limiter<IpAddr>,
    per_page: Limiter<()>,
    warned: Option<Timestamp>,
}

impl From<StoreError> for SubscribeError {
    fn from(error: StoreError) -> SubscribeError {
        SubscribeError::Store(error)
    }
}

pub struct Subscriptions {
    store: Store,
    /// The e-mail notifier the mails go through.
    via: String,
    /// The status page's public URL (ends in `/status`, or what `status-page.url` says).
    page_url: String,
    title: String,
    clock: Arc<dyn Clock>,
    give_up_after: Duration,
    key: tokio::sync::OnceCell<String>,
    limits: Mutex<Limits>,
    page_rate: vigil_core::ratelimit::Rate,
    /// The request header that names the client (behind a proxy), lowercase.
    client_ip_header: Option<String>,
}

impl Subscriptions {
    /// Subscriptions as configured, if they are; the page's URL is needed for links.
    pub fn from_config(
        config: &vigil_config::Config,
        store: Store,
        clock: Arc<dyn Clock>,
        external_url: Option<&str>,
    ) -> anyhow::Result<Option<Arc<Subscriptions>>> {
        let Some(page) = &config.status_page else { return Ok(None) };
        let Some(settings) = &page.subscriptions else { return Ok(None) };
        let page_url = page.url.clone().or_else(|| external_url.map(|base| format!("{base}/status"))).ok_or_else(|| {
            anyhow::anyhow!(
                "status-page.subscriptions needs status-page.url or incidents.external-url (or a listen address other than 0.0.0.0): \
                 its mails link back to the page"
            )
        })?;
        let limits = Limits {
            per_client: Limiter::new(settings.per_client, MAX_CLIENTS),
            per_page: Limiter::new(settings.per_page, 1),
            warned: None,
        };
        Ok(Some(Arc::new(Subscriptions {
            store,
            via: settings.email_via.clone(),
            page_url,
            title: page.title.clone(),
            clock,
            give_up_after: config.delivery.give_up_after,
            key: tokio::sync::OnceCell::new(),
            limits: Mutex::new(limits),
            page_rate: settings.per_page,
            client_ip_header: settings.client_ip_header.clone(),
        })))
    }

    /// The request header that names the client, when a proxy sets one.
    pub fn client_ip_header(&self) -> Option<&str> {
        self.client_ip_header.as_deref()
    }

    /// Takes one request from `client` (`None`: not known, counted as one client) out of
    /// the limits: the client's first, then the page's.
    fn admit(&self, client: Option<IpAddr>, now: Timestamp) -> Result<(), SubscribeError> {
        let mut limits = self.limits.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let client = client.map_or(IpAddr::from([0, 0, 0, 0]), client_key);
        limits.per_client.take(client, now).map_err(SubscribeError::Limited)?;
        if let Err(wait) = limits.per_page.take((), now) {
            if limits.warned.is_none_or(|at| now.0 - at.0 >= WARN_EVERY.as_millis() as i64) {
                limits.warned = Some(now);
                tracing::warn!(
                    limit = %self.page_rate,
                    "status page subscribe requests are over status-page.subscriptions.per-page: answering 429"
                );
            }
            return Err(SubscribeError::Limited(wait));
        }
        Ok(())
    }

    async fn key(&self) -> Result<&String, StoreError> {
        self.key
            .get_or_try_init(|| async {
                let fresh = crate::auth::random_hex(32).map_err(|_| StoreError::Corrupt("the system's random source failed".to_owned()))?;
                self.store.subscription_key(&fresh, self.clock.now()).await
            })
            .await
    }

    fn mac(key: &str, purpose: Purpose, record: &SubscriberRecord) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
        mac.update(format!("{}:{}:{}", purpose.as_str(), record.id, record.email).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The link for `purpose`, made out to `record`.
    pub async fn link(&self, purpose: Purpose, record: &SubscriberRecord) -> Result<String, StoreError> {
        let mac = Subscriptions::mac(self.key().await?, purpose, record);
        let path = match purpose {
            Purpose::Confirm => "subscribe/confirm",
            Purpose::Unsubscribe => "unsubscribe",
        };
        Ok(format!("{}/{path}/{}/{mac}", self.page_url.trim_end_matches('/'), record.id))
    }

    /// The subscriber a link names, if its signature holds.
    pub async fn check(&self, purpose: Purpose, id: &str, mac: &str) -> Result<Option<SubscriberRecord>, StoreError> {
        let Ok(id) = id.parse::<i64>() else { return Ok(None) };
        let Some(record) = self.store.subscriber(id).await? else { return Ok(None) };
        let expected = Subscriptions::mac(self.key().await?, purpose, &record);
        let equal =
            expected.len() == mac.len() && expected.bytes().zip(mac.bytes()).fold(0u8, |difference, (a, b)| difference | (a ^ b)) == 0;
        Ok(equal.then_some(record))
    }

    /// Subscribes `email` for a request from `client`: a confirmation mail with its
    /// link, unless it is confirmed already or one went out in the last ten minutes. The
    /// caller answers the same either way, so nobody learns who subscribes. Over a rate
    /// limit, nothing is looked at.
    pub async fn subscribe(&self, email: &str, client: Option<IpAddr>) -> Result<(), SubscribeError> {
        self.admit(client, self.clock.now())?;
        let email = email.trim().to_lowercase();
        if email.len() > 254 || email.parse::<lettre::Address>().is_err() {
            return Err(SubscribeError::Invalid(format!("`{email}` is not an e-mail address")));
        }
        let now = self.clock.now();
        let Subscribed::Confirm(record) = self.store.subscribe(&email, now, RESEND_AFTER).await? else { return Ok(()) };
        let link = self.link(Purpose::Confirm, &record).await?;
        let mail = SubscriberMessage {
            to: record.email.clone(),
            subject: format!("Confirm your subscription to {}", self.title),
            text: format!(
                "Someone, probably you, asked to be told by e-mail of incidents on {}.\n\n\
                 To confirm, open this link and press Confirm:\n{link}\n\n\
                 If it was not you, ignore this mail: nothing is sent without the confirmation.\n",
                self.title
            ),
            unsubscribe: None,
        };
        self.queue(&[(format!("subscriber:{}:confirm:{}", record.id, now.0), mail)], now).await?;
        Ok(())
    }

    async fn queue(&self, mails: &[(String, SubscriberMessage)], now: Timestamp) -> Result<(), StoreError> {
        let rows: Vec<(String, NewNotification)> = mails
            .iter()
            .map(|(key, mail)| {
                let payload = serde_json::to_string(&Message::Subscriber(mail.clone())).unwrap_or_else(|_| unreachable!("it serializes"));
                (key.clone(), NewNotification { notifier: self.via.clone(), payload })
            })
            .collect();
        self.store.enqueue_mails(&rows, now, self.give_up_after).await
    }

    /// Confirms the subscription a link names; whether it held.
    pub async fn confirm(&self, id: &str, mac: &str) -> Result<bool, StoreError> {
        let Some(record) = self.check(Purpose::Confirm, id, mac).await? else { return Ok(false) };
        self.store.confirm_subscriber(record.id, self.clock.now()).await?;
        Ok(true)
    }

    /// Ends the subscription a link names; whether it held.
    pub async fn unsubscribe(&self, id: &str, mac: &str) -> Result<bool, StoreError> {
        let Some(record) = self.check(Purpose::Unsubscribe, id, mac).await? else { return Ok(false) };
        self.store.unsubscribe(record.id, self.clock.now()).await?;
        Ok(true)
    }

    /// Mails a public update (its status and text, as published) to every confirmed
    /// subscriber, each with its own unsubscribe link.
    pub async fn announce(&self, incident: i64, status: &str, text: &str) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let subscribers = self.store.active_subscribers().await?;
        let mut mails = Vec::with_capacity(subscribers.len());
        let status = crate::statuspage::capitalised(status);
        for subscriber in &subscribers {
            let unsubscribe = self.link(Purpose::Unsubscribe, subscriber).await?;
            mails.push((
                format!("subscriber:{}:update:{incident}:{}", subscriber.id, now.0),
                SubscriberMessage {
                    to: subscriber.email.clone(),
                    subject: format!("[{}] {status}", self.title),
                    text: format!("{status}: {text}\n\nThe status page: {}\n\nTo stop these mails: {unsubscribe}\n", self.page_url),
                    unsubscribe: Some(unsubscribe),
                },
            ));
        }
        for chunk in mails.chunks(500) {
            self.queue(chunk, now).await?;
        }
        Ok(mails.len())
    }
}

//! `type: email`: SMTP delivery with lettre (`tls: none | starttls | tls`, optional auth).

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use vigil_config::{EmailConfig, SmtpTls};

use super::{DeliveryError, Message};

pub struct EmailNotifier {
    config: EmailConfig,
}

impl EmailNotifier {
    pub fn new(config: EmailConfig) -> EmailNotifier {
        EmailNotifier { config }
    }

    pub fn timeout(&self) -> std::time::Duration {
        self.config.timeout
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, DeliveryError> {
        let config = &self.config;
        let tls_parameters =
            || TlsParameters::new(config.smtp_host.clone()).map_err(|error| DeliveryError::Permanent(format!("tls setup failed: {error}")));
        let tls = match config.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls_parameters()?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.smtp_host)
            .port(config.smtp_port)
            .tls(tls)
            .timeout(Some(config.timeout));
        if let (Some(username), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(username.clone(), password.expose().to_owned()));
        }
        Ok(builder.build())
    }

    pub async fn send(&self, key: &str, message: &Message) -> Result<(), DeliveryError> {
        let invalid = |what: &str, error: &dyn std::fmt::Display| DeliveryError::Permanent(format!("invalid {what}: {error}"));
        let from: Mailbox = self.config.from.parse().map_err(|error| invalid("from address", &error))?;
        let mut builder = lettre::Message::builder()
            .from(from)
            .subject(message.subject())
            .message_id(Some(message_id(key, message)))
            .header(ContentType::TEXT_PLAIN);
        // A group's later notifications answer its first, and an action's outcomes the
        // mail that announced its alert, so they thread.
        let answers = match message {
            Message::Group(group) if group.seq > 1 => Some(group.thread.as_str()),
            Message::Action(action) => action.thread.as_deref(),
            _ => None,
        };
        if let Some(thread) = answers {
            let first = format!("<{thread}@vigil>");
            builder = builder.in_reply_to(first.clone()).references(first);
        }
        // An incident's page goes to the person paged, through this notifier's server.
        // A subscriber's mail goes to the subscriber alone.
        let subscriber = match message {
            Message::Subscriber(mail) => Some(vec![mail.to.clone()]),
            _ => None,
        };
        let recipients = match (message, &subscriber) {
            (_, Some(to)) => to,
            (Message::Incident(incident), _) if !incident.to.is_empty() => &incident.to,
            _ => &self.config.to,
        };
        for to in recipients {
            builder = builder.to(to.parse().map_err(|error| invalid("to address", &error))?);
        }
        let mut email = builder.body(message.text()).map_err(|error| invalid("message", &error))?;
        if let Message::Subscriber(mail) = message {
            if let Some(link) = &mail.unsubscribe {
                use lettre::message::header::{HeaderName, HeaderValue};
                let name = |text: &'static str| HeaderName::new_from_ascii_str(text);
                email.headers_mut().insert_raw(HeaderValue::new(name("List-Unsubscribe"), format!("<{link}>")));
                email.headers_mut().insert_raw(HeaderValue::new(name("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click".to_owned()));
            }
        }
        match self.transport()?.send(email).await {
            Ok(_) => Ok(()),
            Err(error) => Err(classify(&error)),
        }
    }
}

/// SMTP codes that mean "not with these credentials": authentication required (530),
/// mechanism too weak (534), credentials invalid (535), encryption required (538), and
/// the temporary authentication failure (454).
const AUTHENTICATION_CODES: [&str; 5] = ["530", "534", "535", "538", "454"];

fn classify(error: &lettre::transport::smtp::Error) -> DeliveryError {
    let code = error.status().map(|code| code.to_string());
    if code.as_deref().is_some_and(|code| AUTHENTICATION_CODES.contains(&code)) {
        return DeliveryError::Refused(format!("the smtp server refuses the credentials: {error}"));
    }
    if error.is_permanent() {
        DeliveryError::Permanent(format!("smtp rejected the message: {error}"))
    } else {
        DeliveryError::Transient(format!("smtp delivery failed: {error}"))
    }
}

/// Derived from the notification, so a mail sent twice after a crash is one message to
/// MTAs; a group's first mail is its thread's root.
fn message_id(key: &str, message: &Message) -> String {
    match message {
        Message::Group(group) if group.seq == 1 => format!("<{}@vigil>", group.thread),
        _ => format!("<{}@vigil>", key.replace(':', ".")),
    }
}

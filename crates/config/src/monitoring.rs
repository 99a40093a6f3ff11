//! `[monitoring]`: who receives the alarms (the addresses the topic
//! subscribes). Its keys, defaults and checks live here.

use serde::{Deserialize, Serialize};

use crate::{invalid, ConfigError};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Monitoring {
    /// Addresses subscribed to the alarm topic (each must confirm the
    /// email SNS sends before it receives alarms). Empty: subscribe
    /// someone yourself; `verify` fails MON-8 until a subscriber confirms.
    pub alarm_emails: Vec<String>,
}

impl Monitoring {
    /// Range checks of `[monitoring]` the type system cannot express.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        for email in &self.alarm_emails {
            // SNS checks only that an email endpoint looks like an address;
            // a typo would subscribe nobody, silently.
            let (local, domain) = email.split_once('@').unwrap_or(("", ""));
            if local.is_empty()
                || !domain.contains('.')
                || email.len() > 254
                || email.chars().any(|c| c.is_whitespace() || c == ',')
            {
                return Err(invalid(
                    "monitoring.alarm_emails",
                    email,
                    "not an email address (name@domain.example)",
                ));
            }
        }
        Ok(())
    }
}

//! Deployment notifications: a JSON POST to the webhook whose URL is in the
//! environment variable `[notify] webhook_env` names. Slack-compatible
//! (`text`) plus structured fields. The URL is a secret: it never appears in
//! output or logs, and a failing webhook is a warning, never a failed deploy.

use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Started,
    Promoted,
    Paused,
    Failed,
    RolledBack,
}

/// One notification.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub text: String,
    pub app: String,
    pub event: Event,
    /// The colour being deployed, promoted or rolled back to.
    pub color: Option<String>,
    pub release: Option<String>,
    pub image: Option<String>,
    /// What failed, for `failed`.
    pub reason: Option<String>,
    pub at: i64,
}

pub struct Notifier {
    env_var: String,
    url: String,
}

impl Notifier {
    /// The notifier for a plan's `[notify]`, when its variable is set.
    pub fn from_env(env_var: Option<&str>) -> Option<Notifier> {
        let env_var = env_var?;
        match std::env::var(env_var) {
            Ok(url) if !url.trim().is_empty() => Some(Notifier {
                env_var: env_var.to_string(),
                url: url.trim().to_string(),
            }),
            _ => {
                eprintln!("warning: notify.webhook_env names {env_var}, which is not set: no notifications");
                None
            }
        }
    }

    /// Posts `message`; a failure is a warning naming the variable, never the URL.
    pub async fn send(&self, message: &Message) {
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
        {
            Ok(c) => c,
            Err(e) => return self.warn(&e.without_url().to_string()),
        };
        match client.post(&self.url).json(message).send().await {
            Ok(resp) if resp.status().is_success() => {}
            Ok(resp) => self.warn(&format!("the webhook answered {}", resp.status().as_u16())),
            Err(e) => self.warn(&e.without_url().to_string()),
        }
    }

    fn warn(&self, why: &str) {
        eprintln!(
            "warning: the notification webhook (${}) failed: {why}; the deployment is not affected",
            self.env_var
        );
    }
}

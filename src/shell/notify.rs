//! Deployment notifications: a JSON POST to the webhook whose URL is in the
//! environment variable `[notify] webhook_env` names. Slack-compatible
//! (`text`) plus structured fields. The URL is a secret: it never appears in
//! output or logs, and a failing webhook is a warning, never a failed deploy.

use crate::decide::rollback::Rollback;
use crate::model::outcome::Outcome;
use crate::model::plan::{Plan, PlanKind};
use crate::model::{format_weights, Color, Release};
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

/// The release a plan deploys, and to which colour.
fn deploying(plan: &Plan) -> Option<(Color, &Release)> {
    match &plan.kind {
        PlanKind::FirstDeploy { color, release }
        | PlanKind::Release {
            to: color, release, ..
        } => Some((*color, release)),
        _ => None,
    }
}

impl Message {
    fn about(plan: &Plan, event: Event, text: String, at: i64) -> Message {
        let deploying = deploying(plan);
        Message {
            text,
            app: plan.app.clone(),
            event,
            color: deploying.map(|(c, _)| c.to_string()),
            release: deploying.map(|(_, r)| r.fingerprint.clone()),
            image: deploying.map(|(_, r)| r.data.image_id.clone()),
            reason: None,
            at,
        }
    }

    /// A deployment of `plan` begins; `None` when it deploys no release.
    pub fn started(plan: &Plan, at: i64) -> Option<Message> {
        let (color, r) = deploying(plan)?;
        let text = format!(
            "{}: deploying release {} ({}) to {color}",
            plan.app, r.fingerprint, r.data.image_id
        );
        Some(Message::about(plan, Event::Started, text, at))
    }

    /// How the deployment of `plan` ended; `None` when it deploys no release.
    pub fn finished(plan: &Plan, outcome: &Outcome, at: i64) -> Option<Message> {
        let (color, r) = deploying(plan)?;
        let app = &plan.app;
        Some(match outcome {
            Outcome::Converged if plan.paused_at().is_some() => {
                let text = format!(
                    "{app}: {color} is ready with release {} and waits for `cutover promote`",
                    r.fingerprint
                );
                Message::about(plan, Event::Paused, text, at)
            }
            Outcome::Converged => {
                let text = format!(
                    "{app}: {color} is live with release {} ({})",
                    r.fingerprint, r.data.image_id
                );
                Message::about(plan, Event::Promoted, text, at)
            }
            Outcome::Moved(m) => {
                let text = format!(
                    "{app}: release {} went live, then production was changed by someone else: now {}",
                    r.fingerprint,
                    m.weights_now.map(format_weights).unwrap_or_default()
                );
                Message::about(plan, Event::Failed, text, at)
            }
            Outcome::Aborted(a) => {
                let reason = a.error.lines().next().unwrap_or_default().to_string();
                let traffic = a.weights_now.map(format_weights).unwrap_or_default();
                let text = format!(
                    "{app}: release {} failed at step {} ({}): {reason}. Production: {traffic}",
                    r.fingerprint, a.step, a.what
                );
                let mut m = Message::about(plan, Event::Failed, text, at);
                m.reason = Some(reason);
                m
            }
        })
    }

    /// `cutover rollback` sent production back to `to`.
    pub fn rolled_back(app: &str, r: &Rollback, at: i64) -> Message {
        Message {
            text: format!(
                "{app}: rolled back to {}; production 100% on {}",
                r.to, r.to
            ),
            app: app.to_string(),
            event: Event::RolledBack,
            color: Some(r.to.to_string()),
            release: r.rejected_release.clone(),
            image: None,
            reason: None,
            at,
        }
    }
}

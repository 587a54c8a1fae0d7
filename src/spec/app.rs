//! `[app]` and the small tables beside it, `[state]`, `[hooks]` and
//! `[notify]`: their spec types, their rules and the AWS limits those enforce.

use super::located::Located;
use super::raw::{RawApp, RawHooks, RawNotify, RawState};
use super::Validator;

/// Longest target group name AWS accepts.
const MAX_TARGET_GROUP_NAME: usize = 32;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HooksSpec {
    pub before_deploy: Option<Vec<String>>,
    pub after_teardown: Option<Vec<String>>,
}

impl Validator<'_> {
    pub(super) fn app(&mut self, a: &Located<RawApp>) -> (String, Option<String>, u32) {
        let app_name = &a.get_ref().name;
        let app = app_name.get_ref().clone();
        if app.is_empty()
            || !app
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            || app.starts_with('-')
            || app.ends_with('-')
        {
            let suggestion: String = app
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            self.error(
                app_name.span(),
                format!("app name {app:?} may use only a-z, 0-9 and '-' (not at either end)"),
                match suggestion.trim_matches('-') {
                    "" => "e.g. name = \"shop\"".to_string(),
                    s => format!("e.g. name = {s:?}"),
                },
            );
        } else if app.len() + "-green".len() > MAX_TARGET_GROUP_NAME {
            self.error(
                app_name.span(),
                format!(
                    "app name {app:?} is {} characters: \"{app}-green\" would exceed AWS's {MAX_TARGET_GROUP_NAME}-character target group name limit",
                    app.len()
                ),
                format!("use at most {} characters", MAX_TARGET_GROUP_NAME - 6),
            );
        }
        let region = a.get_ref().region.as_ref().map(|r| r.get_ref().clone());
        let wave = a
            .get_ref()
            .wave
            .as_ref()
            .map_or(0, |w| self.range("app.wave", w, 0, 1000, ""));
        (app, region, wave)
    }

    pub(super) fn state(&mut self, s: Option<&RawState>, app: Option<&str>) -> String {
        let state_parameter = match s.and_then(|s| s.parameter.as_ref()) {
            None => crate::model::names::default_state_parameter(app.unwrap_or("app")),
            Some(p) => {
                if !ssm_name_valid(p.get_ref()) {
                    self.error(
                        p.span(),
                        format!("{:?} is not a valid SSM parameter name", p.get_ref()),
                        "use a path like \"/shop/active-environment\": letters, digits and . - _ /, starting with '/', at most 1011 characters, not beginning with aws or ssm",
                    );
                }
                p.get_ref().clone()
            }
        };

        state_parameter
    }

    pub(super) fn hooks(&mut self, h: Option<&RawHooks>) -> HooksSpec {
        let mut hooks = HooksSpec::default();
        if let Some(h) = h {
            hooks.before_deploy = h
                .before_deploy
                .as_ref()
                .map(|c| self.command("hooks.before_deploy", c));
            hooks.after_teardown = h
                .after_teardown
                .as_ref()
                .map(|c| self.command("hooks.after_teardown", c));
        }

        hooks
    }

    pub(super) fn notify(&mut self, n: Option<&RawNotify>) -> Option<String> {
        n.and_then(|n| n.webhook_env.as_ref()).map(|w| {
            let name = w.get_ref().clone();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                // Never echo the value: someone may have pasted the secret URL here.
                self.error(
                    w.span(),
                    "`notify.webhook_env` is not an environment variable name (its value is not shown: it may be a secret)",
                    "name the variable that holds the URL, e.g. \"SLACK_WEBHOOK\" (never the URL itself)",
                );
                if let Some(d) = self.errors.last_mut() {
                    d.snippet = None; // the line would show the value
                }
            }
            name
        })
    }
}

fn ssm_name_valid(name: &str) -> bool {
    let lower = name.trim_start_matches('/').to_ascii_lowercase();
    name.starts_with('/')
        && name.len() <= 1011
        && !name.ends_with('/')
        && !name.contains("//")
        && !lower.starts_with("aws")
        && !lower.starts_with("ssm")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssm_names() {
        assert!(ssm_name_valid("/cutover/shop/active"));
        assert!(!ssm_name_valid("no-slash"));
        assert!(!ssm_name_valid("/aws/x"));
        assert!(!ssm_name_valid("/a b"));
    }
}

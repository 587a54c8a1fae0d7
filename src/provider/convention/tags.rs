//! What cutover writes on the resources it makes so that a later read knows
//! them again: the tags of each kind of resource, and the launch template
//! version description that records a release. Written and read here only:
//! both providers call these, so the sandbox and AWS cannot drift apart.

use crate::model::observed::{ListenerTags, Managed, ManagedKind};
use crate::model::{Color, ListenerRole, Timestamp};
use std::collections::BTreeMap;

/// A resource's tags as the cloud lists them.
pub type Tags = BTreeMap<String, String>;

pub const APP: &str = "cutover:app";
pub const COLOR: &str = "cutover:color";
pub const MANAGED: &str = "cutover:managed";
pub const RELEASE: &str = "cutover:release";
/// The name of the load balancer the resource serves: a resource
/// detached from it is still placed (drift of that load balancer's plans).
pub const LOAD_BALANCER: &str = "cutover:load-balancer";
/// On a target group: the release whose after_teardown hook is still to run.
pub const CONTRACT_PENDING: &str = "cutover:contract-pending";
/// "<fingerprint>@<unix seconds>": the release this fleet carried when it was rolled back.
pub const ROLLED_BACK: &str = "cutover:rolled-back";
/// Why that release was rolled back, in a sentence (a gate and its
/// numbers, a person, a health timeout).
pub const ROLLED_BACK_WHY: &str = "cutover:rolled-back-why";
/// On a colour's fleet: its release is held mid-shift for lack of evidence
/// ("fingerprint@time"), and why.
pub const HELD: &str = "cutover:held";
pub const HELD_WHY: &str = "cutover:held-why";

/// A mark on a colour's fleet about its release: rolled back (a verdict),
/// or held (no evidence yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    RolledBack,
    Held,
}

impl Mark {
    /// Its tag keys: the release and time, and why.
    pub fn keys(self) -> (&'static str, &'static str) {
        match self {
            Mark::RolledBack => (ROLLED_BACK, ROLLED_BACK_WHY),
            Mark::Held => (HELD, HELD_WHY),
        }
    }
}
/// A listener's or rule's role in its app ("production", "test").
pub const ROLE: &str = "cutover:role";

/// A kind of resource cutover makes, with what its tags record.
#[derive(Debug, Clone, Copy)]
pub enum Made<'a> {
    /// A colour's target group.
    TargetGroup(Color),
    /// A colour's Auto Scaling group, running `release`.
    Fleet { color: Color, release: &'a str },
    /// The app's launch template.
    LaunchTemplate,
    /// A listener or a rule on someone else's listener, serving as `role`.
    Listener(ListenerRole),
}

/// The tags cutover writes on what it makes for `app` (on `load_balancer`).
pub fn owned(app: &str, load_balancer: &str, made: Made) -> Vec<(&'static str, String)> {
    let mut tags = vec![(APP, app.to_string()), (MANAGED, "true".to_string())];
    match made {
        Made::LaunchTemplate => return tags,
        Made::TargetGroup(color) => tags.push((COLOR, color.to_string())),
        Made::Fleet { color, release } => {
            tags.push((COLOR, color.to_string()));
            tags.push((RELEASE, release.to_string()));
        }
        Made::Listener(role) => tags.push((ROLE, role.to_string())),
    }
    tags.push((LOAD_BALANCER, load_balancer.to_string()));
    tags
}

/// Whether a resource's tags say it is `app`'s `color` (a target group or
/// fleet of that name made by someone else is not).
pub fn is_colour_of(tags: &Tags, app: &str, color: Color) -> bool {
    tags.get(APP).map(String::as_str) == Some(app)
        && tags.get(COLOR).map(String::as_str) == Some(color.as_str())
}

/// Whose a target group or Auto Scaling group named for `app`'s `color`
/// is, when its tags do not say it is that colour's: cutover knows what it
/// made by these tags (every one it made carries them), never by name
/// alone, and does not adopt the rest.
pub fn held_by_other(tags: &Tags, app: &str, color: Color) -> Option<String> {
    if is_colour_of(tags, app, color) {
        return None;
    }
    Some(match (tags.get(APP), tags.get(COLOR)) {
        (None, _) => "it has no cutover tags: someone made it by hand or with another tool".into(),
        (Some(other), c) => format!(
            "its tags say {APP}={other} {COLOR}={}",
            c.map(String::as_str).unwrap_or("(none)")
        ),
    })
}

/// Whether a listener rule's tags say it is `app`'s.
pub fn is_apps(tags: &Tags, app: &str) -> bool {
    tags.get(APP).map(String::as_str) == Some(app)
}

/// A listener's ownership tags.
pub fn listener_tags(tags: &Tags) -> ListenerTags {
    ListenerTags {
        app: tags.get(APP).cloned(),
        role: tags.get(ROLE).cloned(),
    }
}

/// What a listing of everything tagged as cutover's makes of one resource:
/// `None` unless its tags say cutover made it. `used_by`: the load balancer
/// it serves, when its tags do not say (made before cutover tagged it).
pub fn managed(
    kind: ManagedKind,
    name: &str,
    tags: &Tags,
    used_by: Option<String>,
) -> Option<Managed> {
    tags.get(MANAGED)?;
    Some(Managed {
        kind,
        name: name.to_string(),
        app: tags.get(APP).cloned().unwrap_or_default(),
        load_balancer: tags.get(LOAD_BALANCER).cloned().or(used_by),
    })
}

/// A target group's contract-pending mark: the release whose
/// after_teardown hook has not run (an empty value is none).
pub fn contract_pending(tags: &Tags) -> Option<String> {
    tags.get(CONTRACT_PENDING)
        .filter(|v| !v.is_empty())
        .cloned()
}

/// A reason as a tag value: one line, within AWS's 256 characters.
pub fn why_value(why: &str) -> String {
    let line = why.lines().next().unwrap_or_default().trim();
    if line.chars().count() <= 250 {
        return line.to_string();
    }
    let cut: String = line.chars().take(249).collect();
    format!("{cut}…")
}

/// The value of a rolled-back tag.
pub fn rolled_back_value(fingerprint: &str, at: Timestamp) -> String {
    format!("{fingerprint}@{at}")
}

/// (fingerprint, when) from a rolled-back tag value.
pub fn parse_rolled_back(v: &str) -> Option<(String, Timestamp)> {
    let (fp, at) = v.split_once('@')?;
    Some((fp.to_string(), at.parse().ok()?))
}

/// The launch template version description that records a release.
pub fn release_description(fingerprint: &str) -> String {
    format!("cutover release {fingerprint}")
}

/// The release fingerprint in a version description written by cutover.
pub fn fingerprint_from_description(d: &str) -> Option<String> {
    d.strip_prefix("cutover release ")
        .map(|s| s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_is_read_back() {
        let tg: Tags = owned("shop", "web", Made::TargetGroup(Color::Green))
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert!(is_colour_of(&tg, "shop", Color::Green));
        assert!(!is_colour_of(&tg, "shop", Color::Blue));
        assert!(!is_colour_of(&tg, "shopping", Color::Green));
        let m = managed(ManagedKind::TargetGroup, "shop-green", &tg, None).unwrap();
        assert_eq!(
            (m.app.as_str(), m.load_balancer.as_deref()),
            ("shop", Some("web"))
        );
        assert_eq!(
            parse_rolled_back(&rolled_back_value("abc", 17)),
            Some(("abc".to_string(), 17))
        );
        assert_eq!(
            fingerprint_from_description(&release_description("0123456789ab")).as_deref(),
            Some("0123456789ab")
        );
        assert_eq!(
            owned("shop", "web", Made::LaunchTemplate),
            vec![(APP, "shop".to_string()), (MANAGED, "true".to_string())]
        );
    }
}

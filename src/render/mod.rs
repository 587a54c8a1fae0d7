//! Renderers: a Plan (or a status snapshot) to text. They compute nothing:
//! every decision, diff and reason comes from the planner.

pub mod chart;
pub mod diff;
pub mod drift;
pub mod fleet;
pub mod history;
pub mod json;
pub mod markdown;
pub mod outcome;
mod reason;
pub mod report;
pub mod status;
pub mod text;

use crate::model::observed::ManagedKind;
use crate::model::plan::Plan;
use crate::model::plan::{Action, Change, ChangeAction, Note, Resource, TeardownDue};
use crate::model::{duration_key, format_duration, format_timestamp, format_weights};

/// The formats every view comes in: `--format` on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

impl Format {
    pub const ALL: &'static [Format] = &[Format::Text, Format::Markdown, Format::Json];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Markdown => "markdown",
            Format::Json => "json",
        }
    }
}

/// Plans in `format`; in text, each with what a rollback would do now
/// (`rollbacks`, one per plan).
pub fn plans(
    plans: &[Plan],
    rollbacks: &[Option<crate::decide::rollback::Rollback>],
    format: Format,
    style: &text::Style,
) -> String {
    match format {
        Format::Text => {
            let texts: Vec<String> = plans
                .iter()
                .zip(rollbacks)
                .map(|(p, r)| {
                    let mut t = text::render(p, style);
                    if let Some(r) = r {
                        t.push_str(&outcome::rollback_now(r));
                    }
                    t
                })
                .collect();
            texts.join("\n") + &fleet::order(plans, format)
        }
        Format::Markdown => {
            // The order `apply` of these plans would run them in, within
            // the comment's limit too.
            let order = fleet::order(plans, format);
            let limit = markdown::GITHUB_COMMENT_LIMIT - order.chars().count() - 1;
            let body = markdown::render(plans, limit);
            match order.is_empty() {
                true => body,
                false => format!("{body}\n{order}"),
            }
        }
        Format::Json => json::render(plans),
    }
}

/// "target group shop-blue", "listener :80 (production)", "fleet shop-green".
pub fn resource(r: &Resource) -> String {
    match r {
        Resource::LoadBalancer { name } => format!("load balancer {name}"),
        Resource::TargetGroup { name } => format!("target group {name}"),
        Resource::Listener {
            port,
            role,
            rule: None,
        } => format!("listener :{port} ({role})"),
        Resource::Listener {
            port,
            role,
            rule: Some(priority),
        } => format!("rule {priority} on :{port} ({role})"),
        Resource::LaunchTemplateVersion { name } => format!("launch template {name} version"),
        Resource::Fleet { name } => format!("fleet {name}"),
        Resource::Release {
            color,
            fingerprint: Some(fp),
        } => format!("release {fp} on {color}"),
        Resource::Release {
            color,
            fingerprint: None,
        } => format!("release on {color}"),
        Resource::OldListener { port } => format!("listener :{port} (not in the plan file)"),
        Resource::ActiveColour { parameter } => format!("active colour {parameter}"),
        Resource::Hook { phase, color } => format!("hook {} ({color})", phase.as_str()),
        Resource::Tagged { kind, name } => {
            let kind = match kind {
                ManagedKind::TargetGroup => "target group",
                ManagedKind::AutoScalingGroup => "auto scaling group",
            };
            format!("{kind} {name}")
        }
    }
}

/// One line of a change's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldLine {
    /// "key: old → new", or "key: new" for what is created.
    Plain(String),
    /// A line of a value that spans several (user data), diffed by line:
    /// '-' only in the old value, '+' only in the new one, ' ' in both.
    Diff(char, String),
}

impl FieldLine {
    /// The line under `indent`, a diff line's sign two columns further in
    /// (plan text and `cutover diff`).
    pub fn indented(&self, indent: &str) -> String {
        match self {
            FieldLine::Plain(l) => format!("{indent}{l}"),
            FieldLine::Diff(sign, l) => format!("{indent}  {sign} {l}"),
        }
    }
}

/// A change's fields: one line each, and a line diff for a value of
/// several lines.
pub fn field_lines(c: &Change) -> Vec<FieldLine> {
    c.fields
        .iter()
        .flat_map(|f| {
            let created = f.old.is_none() && c.action == ChangeAction::Create;
            field(&f.key.name(), &f.old, &f.new, created)
        })
        .collect()
}

/// One field as lines (see [`FieldLine`]).
pub fn field(
    key: &str,
    old: &Option<String>,
    new: &Option<String>,
    created: bool,
) -> Vec<FieldLine> {
    let several = |v: &Option<String>| v.as_deref().is_some_and(|v| v.trim_end().contains('\n'));
    if !several(old) && !several(new) {
        return vec![FieldLine::Plain(if created {
            format!("{key}: {}", value(new))
        } else {
            format!("{key}: {} → {}", value(old), value(new))
        })];
    }
    let (from, to) = (old.as_deref().unwrap_or(""), new.as_deref().unwrap_or(""));
    let diff = similar::TextDiff::from_lines(from, to);
    let mut out = vec![FieldLine::Plain(format!("{key}:"))];
    for (i, group) in diff.grouped_ops(2).iter().enumerate() {
        if i > 0 {
            out.push(FieldLine::Diff(' ', "…".into()));
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => ' ',
                };
                let line = change.value().trim_end_matches(['\n', '\r']).to_string();
                out.push(FieldLine::Diff(sign, line));
            }
        }
    }
    out
}

/// A plan's note as a sentence.
pub fn note(n: &Note) -> String {
    match n {
        Note::ActiveCorrected { parameter, color } => format!(
            "the active-colour parameter {parameter} disagrees with the production listener, which sends everything to {color}: it is corrected"
        ),
        Note::ActiveInferred { parameter, color } => format!(
            "the active-colour parameter {parameter} is missing; the production listener says {color} is live"
        ),
        Note::FleetRebuilt { color } => {
            format!("the fleet of the active colour {color} is missing: it is rebuilt")
        }
        Note::RolledBackHeld {
            release, at, color, ..
        } => format!(
            "release {release} was rolled back at {} and is not deployed again without `--retry`; {color} keeps it for inspection, and a changed release deploys normally",
            format_timestamp(*at)
        ),
        Note::AwaitsPromotion {
            color,
            release,
            active,
        } => format!(
            "{color} runs release {release} and waits for `cutover promote` (auto_promote = false); production stays on {active}"
        ),
        Note::LaterDefaults { release, what } => format!(
            "release {release} predates {}: it takes effect with the next release, which this change alone does not make",
            what.join(", ")
        ),
        Note::RolesFirst => "the listener roles change first, alone (until then production is where the listener tagged production says): `cutover apply` again carries out the rest of the plan file".to_string(),
        Note::HealthCheckBeforeRelease { color } => format!(
            "the health-check change applies to {color}, which serves production, before the new release is tested: {color}'s instances that fail the new check leave service. To try a check on a release first, change it in a release of its own"
        ),
        Note::FailedReleaseLive {
            color,
            release,
            at,
            why,
            back_to,
        } => format!(
            "{color} serves release {release}, which failed at {}{} and could not be sent back: {back_to} is kept and not torn down; `cutover rollback` goes back to it, `cutover apply --retry` keeps {release} live",
            format_timestamp(*at),
            why.as_deref().map(|w| format!(" ({w})")).unwrap_or_default()
        ),
        Note::GatesOutlastBake { bake_secs, least_secs } => format!(
            "rollout.bake is {}, shorter than the metric gates need to judge a window ({}: its minutes, CloudWatch's two-minute lag and up to a minute to the step's first whole minute): each step takes at least {}; a bake of \"{}\" or more says so in the plan file",
            format_duration(*bake_secs),
            format_duration(*least_secs),
            format_duration(*least_secs),
            duration_key(*least_secs)
        ),
        Note::Frozen { freeze } => format!(
            "{}. `cutover apply` starts nothing until {}; `rollback` is never blocked",
            freeze.said(),
            freeze.thaw_hint(None)
        ),
        Note::ImdsV1Allowed => "fleet.imdsv2 = false: the instances also answer IMDSv1 requests, which a server-side request forgery can use to read the instance role's credentials; remove it to require IMDSv2".to_string(),
        Note::TeardownNotDue { color, policy, due } => {
            let when = match due {
                TeardownDue::AfterPromotion { secs } => {
                    format!("{} after promotion", format_duration(*secs))
                }
                TeardownDue::At { at, in_secs } => format!(
                    "at {} (in {})",
                    format_timestamp(*at),
                    format_duration(*in_secs)
                ),
            };
            format!(
                "teardown of {color} ({}) is due {when}; until then `cutover rollback` flips back instantly, and the next `apply` after that tears it down",
                policy.as_str()
            )
        }
    }
}

/// A field's value as people read it: "(none)" when there is none.
pub fn value(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("(none)")
}

/// One line saying what a step does, e.g. "shift production to green 25%".
// Long: one arm per Action, each one sentence.
pub fn describe_action(app: &str, action: &Action) -> String {
    let name = |c: crate::model::Color| crate::model::names::color_resource(app, c);
    match action {
        Action::CreateTargetGroup { config, .. } => format!(
            "create target group {} ({} :{}, health check {} every {}s)",
            config.name,
            config.protocol,
            config.port,
            config.health_check.path,
            config.health_check.interval_secs
        ),
        Action::UpdateTargetGroup {
            color,
            health_check,
            attributes,
        } => {
            let mut what = Vec::new();
            if health_check.is_some() {
                what.push("health check".to_string());
            }
            what.extend(attributes.describe());
            format!("update target group {}: {}", name(*color), what.join(", "))
        }
        Action::CreateLaunchTemplateVersion { name, release } => format!(
            "create launch template {name} version for release {} ({} {})",
            release.fingerprint,
            release.data.image_id,
            release.data.type_text()
        ),
        Action::RecycleFleet { color } => {
            format!(
                "scale {} to zero and wait until its old instances are gone",
                name(*color)
            )
        }
        Action::EnsureFleet { config, .. } => format!(
            "fleet {} runs release {} at {}",
            config.name, config.release, config.capacity
        ),
        Action::SetCapacity { color, capacity } => {
            format!("set {} capacity to {capacity}", name(*color))
        }
        Action::WaitHealthy {
            color,
            count,
            timeout_secs,
        } => format!(
            "wait until {count} target{} of {} are healthy (timeout {})",
            if *count == 1 { "" } else { "s" },
            name(*color),
            format_duration(*timeout_secs)
        ),
        Action::EnsureListener { config, weights } => match &config.rule {
            None => format!(
                "listener :{} ({}) forwards {}",
                config.port,
                config.role,
                format_weights(*weights)
            ),
            Some(rule) => format!(
                "rule {} on :{} ({}, {}) forwards {}",
                rule.priority,
                config.port,
                config.role,
                rule.matches_text(),
                format_weights(*weights)
            ),
        },
        Action::DeleteRule { port } => format!("delete the app's rule on :{port}"),
        Action::SetScaling {
            color,
            scaling: Some(s),
        } => format!("scale {} by target tracking: {s}", name(*color)),
        Action::SetScaling {
            color,
            scaling: None,
        } => format!("take the scaling policy off {}", name(*color)),
        Action::SetWeights {
            weights,
            affinity_secs: 0,
        } => format!("shift production: {}", format_weights(*weights)),
        Action::SetWeights {
            weights,
            affinity_secs,
        } => format!(
            "shift production: {} (a session stays on its colour for {})",
            format_weights(*weights),
            format_duration(*affinity_secs as u64)
        ),
        Action::Bake {
            color,
            weight,
            secs,
        } => {
            format!("bake {} with {color} at {weight}%", format_duration(*secs))
        }
        Action::Watch { color, secs } => format!(
            "watch {color} at 100% for {} after promotion",
            format_duration(*secs)
        ),
        Action::Hook {
            phase,
            color,
            command,
            ..
        } => {
            format!(
                "run hook {} for {color}: {}",
                phase.as_str(),
                command.join(" ")
            )
        }
        Action::MarkContractPending { color, release } => {
            format!(
                "remember that {}'s release {release} is to be contracted after teardown",
                name(*color)
            )
        }
        Action::Smoke { color, checks } => format!(
            "smoke-test {color}: {}",
            checks
                .iter()
                .map(|c| c.describe())
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Action::AwaitPromotion { color } => {
            format!("stop: {color} waits for `cutover promote` (auto_promote = false)")
        }
        Action::RecordPrevious { record } => format!(
            "record that {} served before {}, for rollback",
            record.color, record.promoted
        ),
        Action::RecordActive { parameter, color } => {
            format!("record {color} as active in {parameter}")
        }
        Action::DetachFleet { color } => {
            format!("detach {} from its target group (drain)", name(*color))
        }
        Action::WaitDrain { secs, .. } => {
            format!("wait {} for connections to drain", format_duration(*secs))
        }
        Action::ScaleToZero { color } => format!("scale {} to zero", name(*color)),
        Action::DeleteFleet { color } => format!("delete fleet {}", name(*color)),
        Action::Flip {
            to, record_active, ..
        } => format!(
            "production 100% on {to}{}",
            record_active
                .as_ref()
                .map(|p| format!(", and record {to} as active in {p}"))
                .unwrap_or_default()
        ),
        Action::RememberRolledBack { color, release } => format!(
            "remember on {} that release {release} was rolled back",
            name(*color)
        ),
        Action::TagListener { port, role } => {
            format!("tag listener :{port} as {app}'s {role} listener")
        }
        Action::DeleteListener { port, .. } => {
            format!("delete listener :{port}, which the plan file no longer names")
        }
        Action::ClearRolledBack { color } => format!(
            "forget that the release on {} was rolled back: it is live",
            name(*color)
        ),
    }
}

/// When the plan's release was rolled back and waits for `--retry`: the
/// sentence that says so, in place of "matches the plan file".
pub fn held_release(plan: &crate::model::plan::Plan) -> Option<String> {
    plan.notes.iter().find_map(|n| match n {
        Note::RolledBackHeld {
            release, at, why, ..
        } => Some(format!(
            "The plan's release {release} is not live: it was rolled back at {}{}. `cutover apply --retry` deploys it again.",
            format_timestamp(*at),
            why.as_deref().map(|w| format!(" ({w})")).unwrap_or_default()
        )),
        _ => None,
    })
}

/// One line that says what a plan does, e.g. "shop: new release 3f2a… (ami-1 →
/// ami-2) → green in 4 steps, 2 in-place changes".
pub fn summary(plan: &crate::model::plan::Plan) -> String {
    use crate::model::plan::PlanKind;
    let in_place = match plan.in_place {
        0 => String::new(),
        1 => ", 1 in-place change".to_string(),
        n => format!(", {n} in-place changes"),
    };
    let steps = plan.timeline.as_ref().map(|t| t.steps.len()).unwrap_or(0);
    let what = match &plan.kind {
        PlanKind::NoChanges => {
            return match held_release(plan) {
                Some(_) => format!(
                    "{}: no changes; the plan's release is not live (rolled back): `--retry` deploys it",
                    plan.app
                ),
                None => format!("{}: no changes", plan.app),
            }
        }
        PlanKind::Rollback { from, to } => format!("roll back from {from} to {to}"),
        PlanKind::FirstDeploy { color, release } => format!(
            "first deploy of release {} ({}) → {color}",
            release.fingerprint, release.data.image_id
        ),
        PlanKind::Release {
            to,
            from_image,
            release,
            resume_at: Some(w),
            ..
        } => format!(
            "resume release {} ({} → {}) → {to} from {w}%, {steps} step{} left",
            release.fingerprint,
            from_image.as_deref().unwrap_or("?"),
            release.data.image_id,
            if steps == 1 { "" } else { "s" }
        ),
        PlanKind::Release {
            to,
            from_image,
            release,
            ..
        } => format!(
            "new release {} ({} → {}) → {to} in {steps} step{}",
            release.fingerprint,
            from_image.as_deref().unwrap_or("?"),
            release.data.image_id,
            if steps == 1 { "" } else { "s" }
        ),
        PlanKind::InPlace => {
            let n = plan.in_place.max(1);
            return format!(
                "{}: {n} in-place change{}{}",
                plan.app,
                if n == 1 { "" } else { "s" },
                if plan.in_place == 0 {
                    " (housekeeping)"
                } else {
                    ""
                }
            );
        }
    };
    format!("{}: {what}{in_place}", plan.app)
}

/// What happens to sessions at one step of the shift.
pub fn step_sessions(t: &crate::model::plan::Timeline, weight: u32) -> String {
    let kept = format_duration(t.session_affinity_secs as u64);
    match (t.session_affinity_secs > 0, weight >= 100) {
        (true, false) => format!("{weight}% of new sessions on {}, each kept {kept}", t.to),
        (true, true) => format!("new sessions on {}; {}'s end within {kept}", t.to, t.from),
        (false, false) => format!("each request {weight}% {}", t.to),
        (false, true) => format!("every request on {}", t.to),
    }
}

/// What the rollout does to users' sessions, for the lines under the steps.
fn session_lines(t: &crate::model::plan::Timeline) -> Vec<String> {
    let mut out = vec![if t.session_affinity_secs > 0 {
        format!(
            "sessions: a user stays on the colour they first reached for {} (rollout.session_affinity); a rollback turns this off in the same listener update, so every user is back on {} at once",
            format_duration(t.session_affinity_secs as u64),
            t.from
        )
    } else {
        format!(
            "sessions: not kept across colours: one user's requests may reach both {} and {} during the shift (rollout.session_affinity keeps them on one)",
            t.from, t.to
        )
    }];
    if t.stickiness_secs > 0 {
        out.push(format!(
            "within a colour, a user stays on one instance for {} (target_group.stickiness)",
            format_duration(t.stickiness_secs as u64)
        ));
    }
    if t.session_affinity_secs as u64 > t.rollback_window_secs && !t.steps.is_empty() {
        out.push(format!(
            "warning: sessions kept on {} may outlive it: affinity is {}, {} is torn down {} after promotion",
            t.from,
            format_duration(t.session_affinity_secs as u64),
            t.from,
            format_duration(t.rollback_window_secs)
        ));
    }
    out
}

/// The rollout timeline as plain lines (text and markdown share them).
/// Some step of the rollout takes longer than its bake: a metric gate
/// needs more time to judge a window.
pub fn steps_take_longer(t: &crate::model::plan::Timeline) -> bool {
    t.steps.iter().any(|s| s.min_secs > s.bake_secs)
}

pub fn timeline_lines(t: &crate::model::plan::Timeline) -> Vec<String> {
    let mut gates = vec![format!("target health of {} and {}", t.from, t.to)];
    gates.extend(t.gates.iter().map(|g| g.describe()));
    let mut out = vec![format!("gates during every bake: {}", gates.join("; "))];
    let least: u64 = t.steps.iter().map(|s| s.min_secs.max(s.bake_secs)).sum();
    out.push(format!(
        "about {}{} of bakes, after up to {} for {} to turn healthy{}",
        format_duration(t.bake_total_secs),
        if least > t.bake_total_secs {
            format!(
                " (at least {} while the metric gates judge)",
                format_duration(least)
            )
        } else {
            String::new()
        },
        format_duration(t.health_timeout_secs),
        t.to,
        if t.awaits_promotion {
            ", and a person's `cutover promote`"
        } else {
            ""
        }
    ));
    out.push(format!(
        "overlap: {} extra instance{} ({}) run beside {} until the teardown",
        t.extra_instances,
        if t.extra_instances == 1 { "" } else { "s" },
        t.to,
        t.from
    ));
    out.push(if t.rollback_window_secs == 0 {
        format!(
            "instant rollback: until promotion ({} is torn down at once, policy {})",
            t.from,
            t.teardown_policy.as_str()
        )
    } else {
        format!(
            "instant rollback: until {} after promotion, then {} is torn down ({})",
            format_duration(t.rollback_window_secs),
            t.from,
            t.teardown_policy.as_str()
        )
    });
    if t.watch_secs > 0 {
        out.push(format!(
            "watch: the gates go on for {} after promotion; a failure sends production back to {}",
            format_duration(t.watch_secs),
            t.from
        ));
    }
    out.extend(session_lines(t));
    out
}

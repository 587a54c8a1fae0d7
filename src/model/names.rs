//! The names cutover gives what it owns in AWS: one function each, so a
//! name is spelt in one place.

use super::Color;

/// A colour's target group and Auto Scaling group: "<app>-<color>".
pub fn color_resource(app: &str, color: Color) -> String {
    format!("{app}-{color}")
}

/// A colour's Auto Scaling group.
pub fn fleet(app: &str, color: Color) -> super::FleetName {
    super::FleetName(color_resource(app, color))
}

/// The launch template that holds every release of an app, one version each.
pub fn launch_template(app: &str) -> String {
    app.to_string()
}

/// The active-colour parameter when the plan names none.
pub fn default_state_parameter(app: &str) -> String {
    format!("/cutover/{app}/active")
}

/// What served before the last promotion (a [`super::observed::Previous`]),
/// beside the active-colour parameter.
pub fn previous_parameter(state_parameter: &str) -> String {
    format!("{state_parameter}-previous")
}

/// The target-tracking policy cutover puts on fleet `fleet` (named after
/// the group: AWS keys policies by group and name, moto by name alone).
pub fn scaling_policy(fleet: &str) -> String {
    format!("cutover-{fleet}-tracking")
}

/// The active-colour parameter a promotion record belongs to.
pub fn state_parameter_of_previous(previous: &str) -> Option<&str> {
    previous.strip_suffix("-previous")
}

/// The release log (a [`super::history::LogEntry`] per version), beside
/// the active-colour parameter: what `cutover history` reads.
pub fn history_parameter(state_parameter: &str) -> String {
    format!("{state_parameter}-history")
}

/// The lock parameter, beside the active-colour parameter.
pub fn lock_parameter(state_parameter: &str) -> String {
    format!("{state_parameter}-lock")
}

/// The parameter that freezes one app (a [`super::freeze::Freeze`]),
/// beside the active-colour parameter.
pub fn freeze_parameter(state_parameter: &str) -> String {
    format!("{state_parameter}-freeze")
}

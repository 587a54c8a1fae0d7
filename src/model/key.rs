//! What a changed value is: [`Key`], typed by what it belongs to. Plans
//! show a key by its name ("health_check.path"), JSON carries that name,
//! and drift tells kinds of drift apart by the type, never by the spelling.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An enum of named settings: its variants, each with the name plans show,
/// `ALL` in order, and `from_name`.
macro_rules! named_keys {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The name plans show.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            pub fn from_name(text: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|k| k.name() == text)
            }
        }
    };
}
pub(crate) use named_keys;

named_keys! {
    /// A target group's health check setting.
    HealthCheckKey {
        Path = "path",
        Interval = "interval",
        Timeout = "timeout",
        HealthyThreshold = "healthy_threshold",
        UnhealthyThreshold = "unhealthy_threshold",
        Matcher = "matcher",
    }
}

named_keys! {
    /// A target group attribute.
    AttributeKey {
        DeregistrationDelay = "deregistration_delay",
        Stickiness = "stickiness",
        SlowStart = "slow_start",
        Algorithm = "algorithm",
    }
}

named_keys! {
    /// An Auto Scaling group's setting (its launch data is
    /// [`super::LaunchField`]).
    FleetKey {
        Capacity = "capacity",
        Subnets = "subnets",
        /// The colour's target group, attached to the group.
        TargetGroup = "target_group",
        Scaling = "scaling",
        Spot = "spot",
        InstanceTypes = "instance_types",
        OnDemandBase = "on_demand_base",
        CapacityRebalance = "capacity_rebalance",
        HealthCheckGrace = "health_check_grace",
        Warmup = "warmup",
        /// The release the group is tagged with.
        Release = "release",
        /// Instances launched from an older launch template version.
        OlderInstances = "instances of an older version",
    }
}

named_keys! {
    /// A listener's (or the app's rule's) setting.
    ListenerKey {
        /// The weights between the colours.
        Weights = "weights",
        /// What the app's rule matches.
        Matches = "matches",
        Priority = "priority",
        /// The app's rule on a listener that is whole the app's again.
        Rule = "rule",
        Protocol = "protocol",
        CertificateArn = "certificate_arn",
        /// Its `cutover:role` tag, as the plan file gives it.
        Role = "role",
        AppTag = "tag cutover:app",
        RoleTag = "tag cutover:role",
    }
}

/// What a changed value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// Shown as "health_check.<name>".
    HealthCheck(HealthCheckKey),
    Attribute(AttributeKey),
    Launch(super::LaunchField),
    Fleet(FleetKey),
    Listener(ListenerKey),
    /// The value of a parameter (the active colour).
    ParameterValue,
}

impl From<HealthCheckKey> for Key {
    fn from(k: HealthCheckKey) -> Key {
        Key::HealthCheck(k)
    }
}

impl From<AttributeKey> for Key {
    fn from(k: AttributeKey) -> Key {
        Key::Attribute(k)
    }
}

impl From<super::LaunchField> for Key {
    fn from(k: super::LaunchField) -> Key {
        Key::Launch(k)
    }
}

impl From<FleetKey> for Key {
    fn from(k: FleetKey) -> Key {
        Key::Fleet(k)
    }
}

impl From<ListenerKey> for Key {
    fn from(k: ListenerKey) -> Key {
        Key::Listener(k)
    }
}

const HEALTH_CHECK: &str = "health_check.";
const PARAMETER_VALUE: &str = "value";

impl Key {
    /// The name plans and JSON show.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self {
            Key::HealthCheck(k) => format!("{HEALTH_CHECK}{}", k.name()).into(),
            Key::Attribute(k) => k.name().into(),
            Key::Launch(k) => k.name().into(),
            Key::Fleet(k) => k.name().into(),
            Key::Listener(k) => k.name().into(),
            Key::ParameterValue => PARAMETER_VALUE.into(),
        }
    }

    /// The key a name stands for (saved plans carry names).
    pub fn from_name(text: &str) -> Option<Key> {
        if let Some(k) = text.strip_prefix(HEALTH_CHECK) {
            return HealthCheckKey::from_name(k).map(Key::HealthCheck);
        }
        if text == PARAMETER_VALUE {
            return Some(Key::ParameterValue);
        }
        AttributeKey::from_name(text)
            .map(Key::Attribute)
            .or_else(|| super::LaunchField::from_name(text).map(Key::Launch))
            .or_else(|| FleetKey::from_name(text).map(Key::Fleet))
            .or_else(|| ListenerKey::from_name(text).map(Key::Listener))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        let text = String::deserialize(d)?;
        Key::from_name(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown setting {text:?}")))
    }
}

impl JsonSchema for Key {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "String".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }

    fn inline_schema() -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LaunchField;

    fn every_key() -> Vec<Key> {
        let mut all: Vec<Key> = HealthCheckKey::ALL
            .iter()
            .map(|k| Key::HealthCheck(*k))
            .collect();
        all.extend(AttributeKey::ALL.iter().map(|k| Key::Attribute(*k)));
        all.extend(LaunchField::ALL.iter().map(|k| Key::Launch(*k)));
        all.extend(FleetKey::ALL.iter().map(|k| Key::Fleet(*k)));
        all.extend(ListenerKey::ALL.iter().map(|k| Key::Listener(*k)));
        all.push(Key::ParameterValue);
        all
    }

    #[test]
    fn every_key_has_its_own_name_and_reads_back_from_it() {
        let all = every_key();
        let names: std::collections::BTreeSet<String> =
            all.iter().map(|k| k.name().into_owned()).collect();
        assert_eq!(names.len(), all.len(), "two keys share a name");
        for k in all {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(serde_json::from_str::<Key>(&json).unwrap(), k, "{json}");
        }
        assert!(serde_json::from_str::<Key>("\"no_such\"").is_err());
    }
}

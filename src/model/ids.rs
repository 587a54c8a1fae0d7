//! Newtypes for the identifiers that cross the seam between the planner, the
//! executor and a provider, so a listener's ARN can never be passed where a
//! target group's is expected. Serialised as the plain string.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
        )]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
}

id!(
    /// An Application Load Balancer's ARN.
    LoadBalancerArn
);
id!(
    /// A listener's ARN.
    ListenerArn
);
id!(
    /// A target group's ARN.
    TargetGroupArn
);
id!(
    /// A listener rule's ARN.
    RuleArn
);
id!(
    /// An Auto Scaling group's name ("<app>-<color>" for cutover's fleets).
    FleetName
);

/// Where a forward with the colours' weights is: a listener's default
/// action, or a rule on a listener someone else owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ForwardAt {
    Listener(ListenerArn),
    Rule(RuleArn),
}

/// A forward action's targets: each target group with its weight.
pub type Forward = Vec<(TargetGroupArn, u32)>;

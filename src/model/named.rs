//! What a plan names in the account without cutover owning it: the load
//! balancer, the VPC, subnets, security groups, key pair and certificates.
//! They must exist before the first apply; preflight looks each one up.

/// The resources a plan names, by the ids written in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub load_balancer: String,
    /// The target groups' VPC.
    pub vpc: String,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub key_pair: Option<String>,
    /// (listener port, certificate ARN).
    pub certificates: Vec<(u16, String)>,
    /// Listeners someone else owns where the plan adds a rule: (port,
    /// protocol). They exist when the load balancer does; the planner says
    /// so when one does not.
    pub shared_listeners: Vec<(u16, crate::model::Protocol)>,
    /// The CloudWatch alarms the plan's alarm gates read.
    pub alarms: Vec<String>,
}

/// What one lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen<T> {
    Found(T),
    Missing,
    /// The lookup was not made: the role may not make this call (the IAM
    /// action), as a read-only pull-request role may not.
    Unchecked(String),
}

impl<T> Seen<T> {
    /// `Unchecked(action)` for every item of a lookup that was denied.
    pub fn unchecked(action: &str) -> Seen<T> {
        Seen::Unchecked(action.to_string())
    }
}

impl<T> From<Option<T>> for Seen<T> {
    /// What an answered lookup found: `None` is not there.
    fn from(found: Option<T>) -> Seen<T> {
        found.map(Seen::Found).unwrap_or(Seen::Missing)
    }
}

/// A certificate as its issuer reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// ACM's status: "ISSUED", "PENDING_VALIDATION", "EXPIRED", … (`None`
    /// for an IAM server certificate, which has none).
    pub status: Option<String>,
}

/// What the lookups found, item by item in the order of [`Named`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The region the lookups were made in.
    pub region: String,
    /// The load balancer's VPC.
    pub load_balancer: Seen<String>,
    pub vpc: Seen<()>,
    /// Each subnet's VPC.
    pub subnets: Vec<Seen<String>>,
    /// Each security group's VPC.
    pub security_groups: Vec<Seen<String>>,
    pub key_pair: Option<Seen<()>>,
    pub certificates: Vec<Seen<Certificate>>,
    /// Each alarm's state.
    pub alarms: Vec<Seen<crate::model::observed::AlarmState>>,
}

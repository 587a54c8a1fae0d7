//! cutover's conventions in the cloud, once for both providers: what it
//! writes on what it makes ([`tags`]), what a provider lists
//! ([`listing`]), and the one function that makes a snapshot of an app from
//! a listing ([`assemble()`]). Pure: no SDK, no async, no I/O (kept by
//! `tests/it/architecture.rs`), so the sandbox and AWS cannot answer the
//! same question two ways.

mod assemble;
pub mod listing;
pub mod tags;

pub use assemble::{assemble, rules_to_read, version};

use crate::model::{Color, FleetName, TargetGroupArn};

/// What a provider needs to know to observe one app: names, not a Spec, so
/// the provider does not depend on the plan file's shape.
#[derive(Debug, Clone)]
pub struct AppRef {
    pub app: String,
    pub load_balancer: String,
    pub listener_ports: Vec<u16>,
    /// The ports where the app has a rule on a listener someone else owns.
    pub rule_ports: Vec<u16>,
    pub state_parameter: String,
}

impl AppRef {
    /// The SSM parameters read with the app: the active colour, the lock,
    /// the promotion record, and the freezes when `reads` asks for them
    /// (the same list on every provider).
    pub fn parameters(&self, reads: crate::model::observed::Reads) -> Vec<String> {
        let state = &self.state_parameter;
        let mut names = vec![
            state.clone(),
            crate::model::names::lock_parameter(state),
            crate::model::names::previous_parameter(state),
        ];
        if reads.freezes {
            names.extend(crate::model::freeze::Freeze::parameters(state).map(|(_, name)| name));
        }
        names
    }

    pub fn from_spec(spec: &crate::spec::Spec) -> AppRef {
        AppRef {
            app: spec.app.clone(),
            load_balancer: spec.load_balancer.clone(),
            listener_ports: spec.listeners().map(|l| l.port).collect(),
            rule_ports: spec
                .listeners()
                .filter(|l| l.rule.is_some())
                .map(|l| l.port)
                .collect(),
            state_parameter: spec.state_parameter.clone(),
        }
    }

    /// The ports whose listener rules are read: where the plan has a rule,
    /// and where the app's listener does not forward to the app's target
    /// groups (someone else's listener, where a rule of the app the plan
    /// dropped may still be). A listener the app owns is not read: no
    /// DescribeRules for it.
    pub fn rule_ports_to_read(
        &self,
        listeners: &[crate::model::observed::Listener],
        own: &[TargetGroupArn],
    ) -> Vec<u16> {
        let mut ports = self.rule_ports.clone();
        for l in listeners
            .iter()
            .filter(|l| self.listener_ports.contains(&l.port))
        {
            let ours = l.forward.iter().any(|(arn, _)| own.contains(arn));
            if !ours && !ports.contains(&l.port) {
                ports.push(l.port);
            }
        }
        ports
    }

    /// Colour `c`'s fleet (Auto Scaling group).
    pub fn fleet(&self, c: Color) -> FleetName {
        crate::model::names::fleet(&self.app, c)
    }

    /// The tags of what cutover makes for this app.
    pub fn tags(&self, made: tags::Made) -> Vec<(&'static str, String)> {
        tags::owned(&self.app, &self.load_balancer, made)
    }
}

/// An Auto Scaling group's instances, as a wait counts them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    /// Instances not yet terminated.
    pub running: usize,
    /// Instances launched from the group's current launch template version:
    /// the ones that run the release the group is set to.
    pub current: Vec<String>,
}

impl Members {
    /// A listed fleet's members: those on their way out are running but
    /// not current, nor are those launched from another version.
    pub fn of(f: &listing::ListedFleet) -> Members {
        let older = assemble::older(f);
        Members {
            running: f.instances.len(),
            current: f
                .instances
                .iter()
                .filter(|i| !i.leaving && !older.contains(&i.id))
                .map(|i| i.id.clone())
                .collect(),
        }
    }
}

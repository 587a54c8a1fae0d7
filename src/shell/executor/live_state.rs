//! What a run knows of the live resources: from the snapshot the plan was
//! made from, then from what this run created and changed.

use super::StepError;
use crate::model::observed::Observed;
use crate::model::{
    names, Color, FleetName, ForwardAt, ListenerArn, LoadBalancerArn, PerColor, RuleArn,
    TargetGroupArn, Timestamp, Weights, WeightsAt,
};
use std::collections::BTreeMap;

/// The live state as this run knows it: the ids of the app's resources
/// (load balancer, target groups, listeners, rules, launch template and
/// versions, the fleets' attachments), and where production weights and
/// the active colour are as this run last wrote or read them, with what
/// a lagging read may still show and whether a lost answer left it unsure.
pub(super) struct LiveState {
    pub app: String,
    pub load_balancer: LoadBalancerArn,
    pub target_groups: PerColor<Option<TargetGroupArn>>,
    pub listeners: BTreeMap<u16, ListenerArn>,
    /// The app's rules on shared listeners, by listener port.
    pub rules: BTreeMap<u16, RuleArn>,
    pub template_id: Option<String>,
    /// Launch template version per release fingerprint.
    pub versions: BTreeMap<String, i64>,
    /// Each colour's fleet, when it exists: the target groups it is attached to.
    pub fleets: PerColor<Option<Vec<TargetGroupArn>>>,
    /// Where production weights live.
    pub production: WeightsAt,
    /// Production weights as this run last set or read them,
    pub weights: Option<Weights>,
    /// and the weight production sent to other target groups then.
    pub foreign: u32,
    /// The production weights this run's last weight write replaced, and
    /// when it went out (its clock): a read until
    /// [`super::PROPAGATION_SECS`] later may still show them.
    pub weights_lag: Option<((Weights, u32), Timestamp)>,
    /// A weight write of this run got no answer and the read-back did not
    /// show it: production may be anywhere it or the one before put it.
    pub weights_uncertain: bool,
    /// The active colour this run's last write of it replaced, and when.
    pub active_lag: Option<(Option<Color>, Timestamp)>,
    /// A write of the active colour got no answer and the read-back did not
    /// show it: the parameter may say either colour.
    pub active_uncertain: bool,
    /// The colour traffic goes home to on a failure, and the healthy targets
    /// it needs: its own capacity, not the plan's.
    pub home: Option<(Color, u32)>,
    /// The active colour as this run last saw or recorded it.
    pub active: Option<Color>,
    /// When this run last set each colour's fleet (its clock): scaling
    /// activities from then on are this run's launches.
    pub fleet_set_at: PerColor<Option<Timestamp>>,
    /// A rollback's tag (colour, release) to send with its flip, when the
    /// plan's next step is that tag: one round trip fewer.
    pub remember_with_flip: Option<(Color, String)>,
    /// The answer to the tag sent with the flip, for that next step.
    pub remembered: Option<Result<(), crate::provider::ProviderError>>,
    /// The release the rolled-back tag sent with the flip marked, when it
    /// landed: a failed flip says so.
    pub tagged_with_flip: Option<String>,
    /// The colour whose release was held mid-shift, as observed: its mark
    /// comes off when a bake judges it again.
    pub held: Option<Color>,
    /// The promotion record as observed, or as this run last wrote it.
    pub previous: Option<crate::model::observed::Previous>,
}

impl LiveState {
    pub fn new(app: &str, obs: &Observed, production: WeightsAt) -> LiveState {
        let attached = |c: Color| obs.fleets.get(c).as_ref().map(|f| f.target_groups.clone());
        LiveState {
            app: app.to_string(),
            load_balancer: obs
                .load_balancer
                .as_ref()
                .map(|l| l.arn.clone())
                .unwrap_or_else(|| LoadBalancerArn(String::new())),
            target_groups: PerColor {
                blue: obs.tg_arn(Color::Blue).cloned(),
                green: obs.tg_arn(Color::Green).cloned(),
            },
            listeners: obs
                .listeners
                .iter()
                .map(|l| (l.port, l.arn.clone()))
                .collect(),
            rules: obs.rules.iter().map(|r| (r.port, r.arn.clone())).collect(),
            template_id: obs.launch_template.as_ref().map(|t| t.id.clone()),
            versions: obs
                .launch_template
                .iter()
                .flat_map(|t| t.versions.iter())
                .filter_map(|v| v.fingerprint.clone().map(|f| (f, v.number)))
                .collect(),
            fleets: PerColor {
                blue: attached(Color::Blue),
                green: attached(Color::Green),
            },
            production,
            weights: obs.weights_at(production),
            foreign: obs.foreign_weight_at(production),
            weights_lag: None,
            weights_uncertain: false,
            active_lag: None,
            active_uncertain: false,
            home: None,
            active: obs.active.as_ref().map(|a| a.color),
            fleet_set_at: PerColor::default(),
            remember_with_flip: None,
            remembered: None,
            tagged_with_flip: None,
            held: crate::decide::status::held(obs, obs.weights_at(production)).map(|h| h.color),
            previous: obs.previous.clone(),
        }
    }

    /// Production weights as this run last set or read them, with the
    /// weight to other target groups.
    pub fn split(&self) -> Option<(Weights, u32)> {
        self.weights.map(|w| (w, self.foreign))
    }

    /// A weight write goes out now (`at`): what it replaces may show in
    /// reads for a while.
    pub fn weights_written(&mut self, at: Timestamp) {
        if let Some(before) = self.split() {
            self.weights_lag = Some((before, at));
        }
    }

    /// A write of the active colour goes out now (`at`).
    pub fn active_written(&mut self, at: Timestamp) {
        self.active_lag = Some((self.active, at));
    }

    pub fn fleet(&self, color: Color) -> FleetName {
        names::fleet(&self.app, color)
    }

    /// `color`'s target group, which an earlier step made.
    pub fn tg(&self, color: Color) -> Result<TargetGroupArn, StepError> {
        self.target_groups.get(color).clone().ok_or_else(|| {
            StepError::Missing(format!(
                "target group {} does not exist",
                names::color_resource(&self.app, color)
            ))
        })
    }

    /// Whether `color`'s fleet is attached to its target group.
    pub fn attached(&self, color: Color) -> bool {
        match (self.target_groups.get(color), self.fleets.get(color)) {
            (Some(tg), Some(attached)) => attached.contains(tg),
            _ => false,
        }
    }

    /// Where the production weights are: the listener, or the app's rule on it.
    pub fn production_forward(&self) -> Result<ForwardAt, StepError> {
        let found = match self.production {
            WeightsAt::ListenerDefault { port } => {
                self.listeners.get(&port).cloned().map(ForwardAt::Listener)
            }
            WeightsAt::Rule { port } => self.rules.get(&port).cloned().map(ForwardAt::Rule),
        };
        found.ok_or_else(|| {
            StepError::Missing(format!(
                "the production {} does not exist",
                match self.production {
                    WeightsAt::ListenerDefault { .. } => "listener",
                    WeightsAt::Rule { .. } => "rule",
                }
            ))
        })
    }
}

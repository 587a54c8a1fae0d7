//! Production traffic: listeners and rules, the shift's weight writes, and
//! the checks right before them (the colour gaining weight is healthy; the
//! weights are still what this run last wrote or read).

use super::confirm::Unlanded;
use super::live_state::LiveState;
use super::{Detail, Executor, StepError};
use crate::model::plan::ListenerConfig;
use crate::model::{Color, ListenerArn, ListenerRole, Weights};
use crate::provider::forward_for;

impl Executor<'_> {
    pub(super) async fn ensure_listener(
        &self,
        live: &mut LiveState,
        config: &ListenerConfig,
        weights: Weights,
    ) -> Result<Detail, StepError> {
        let is_prod = live.production == config.weights_at();
        if is_prod {
            self.check_weights_safe(live, weights).await?;
        }
        let forward = forward_for(&live.target_groups, weights);
        self.fence().await?;
        if is_prod {
            self.check_weights_unchanged(live).await?;
        }
        match (live.listeners.get(&config.port).cloned(), &config.rule) {
            (Some(listener), Some(rule)) => match live.rules.get(&config.port).cloned() {
                Some(arn) => self.provider.modify_rule(&arn, rule, &forward).await?,
                None => {
                    let arn = self
                        .provider
                        .create_rule(&self.app, config.role, &listener, rule, &forward)
                        .await?;
                    live.rules.insert(config.port, arn);
                }
            },
            (None, Some(_)) => {
                return Err(StepError::Missing(format!(
                    "the listener on port {} does not exist (with `rule`, it is someone else's)",
                    config.port
                )))
            }
            (Some(arn), None) => {
                // Read back when the answer is lost: the forward it holds.
                let at = crate::model::ForwardAt::Listener(arn.clone());
                let sorted = |mut f: crate::model::Forward| {
                    f.sort();
                    f
                };
                if is_prod {
                    live.weights_written(self.provider.now());
                }
                self.write_surely(
                    &format!("updating listener :{}", config.port),
                    &sorted(forward.clone()),
                    None,
                    async || self.provider.modify_listener(&arn, config, &forward).await,
                    async || Ok(sorted(self.provider.forward_of(&at).await?)),
                )
                .await
                .map_err(Unlanded::into_step_error)?;
            }
            (None, None) => {
                let arn = self
                    .provider
                    .create_listener(&self.app, &live.load_balancer, config, &forward)
                    .await?;
                live.listeners.insert(config.port, arn);
            }
        }
        if is_prod {
            live.weights = Some(weights);
            live.foreign = 0;
        }
        Ok(None)
    }

    /// One step of the shift: set the production weights and read them back.
    pub(super) async fn set_weights(
        &self,
        live: &mut LiveState,
        weights: Weights,
        affinity_secs: u32,
    ) -> Result<Detail, StepError> {
        self.check_weights_safe(live, weights).await?;
        let at = live.production_forward()?;
        let forward = forward_for(&live.target_groups, weights);
        // Last look before the write: a rollback may have taken over, or
        // someone may have moved the weights.
        self.fence().await?;
        self.check_weights_unchanged(live).await?;
        live.weights_written(self.provider.now());
        let before = live.split();
        let written = self
            .write_surely(
                "shifting production",
                &(weights, 0),
                before.as_ref(),
                async || {
                    self.provider
                        .set_weights(&at, &forward, affinity_secs)
                        .await
                },
                async || self.read_split(live).await,
            )
            .await;
        let got = match written {
            Ok(got) => got,
            Err(Unlanded::Failed { error, seen }) => {
                // Production is where AWS shows it, or, unread, anywhere
                // this write or the one before put it.
                match seen {
                    Some((w, foreign)) => (live.weights, live.foreign) = (Some(w), foreign),
                    None => live.weights_uncertain = true,
                }
                return Err(StepError::Provider(error));
            }
            Err(Unlanded::Stopped(e)) => return Err(e),
        };
        if let Some(mut got) = got {
            let mut wanted = forward;
            got.sort();
            wanted.sort();
            if got != wanted {
                live.weights_uncertain = true;
                return Err(StepError::WeightsMismatch { wanted, got });
            }
        }
        live.weights = Some(weights);
        live.foreign = 0;
        live.weights_uncertain = false;
        Ok(Some("read back".into()))
    }

    /// The app's rule on `port` goes (the listener forwards already).
    pub(super) async fn delete_rule(
        &self,
        live: &mut LiveState,
        port: u16,
    ) -> Result<Detail, StepError> {
        if let Some(arn) = live.rules.get(&port).cloned() {
            self.fence().await?;
            self.provider.delete_rule(&arn).await?;
            live.rules.remove(&port);
        }
        Ok(None)
    }

    /// Production weight only goes to a colour whose desired targets are all
    /// healthy: checked for every colour that gains weight.
    async fn check_weights_safe(
        &self,
        live: &LiveState,
        weights: Weights,
    ) -> Result<(), StepError> {
        for color in Color::ALL {
            let gains = weights.get(color) > 0
                && live
                    .weights
                    .is_none_or(|cur| cur.get(color) < weights.get(color));
            if gains {
                let (healthy, _) = self.healthy(live, color).await?;
                let wanted = self.wanted(live, color);
                if healthy < wanted {
                    return Err(StepError::UnsafeWeights {
                        color,
                        healthy,
                        wanted,
                    });
                }
            }
        }
        Ok(())
    }

    /// Production weights are what this run last wrote or read: someone
    /// else changing them (a console edit, another tool) stops the run
    /// without a write.
    pub(super) async fn check_weights_unchanged(&self, live: &LiveState) -> Result<(), StepError> {
        let (Some(expected), Ok(_)) = (live.weights, live.production_forward()) else {
            return Ok(());
        };
        let read = async || self.read_split(live).await;
        let found = self
            .changed(
                &(expected, live.foreign),
                live.weights_lag.as_ref().map(|(w, at)| (w, *at)),
                read,
            )
            .await?;
        let Some((found, foreign)) = found else {
            return Ok(());
        };
        let found = crate::model::format_weights(found);
        Err(StepError::Foreign {
            what: "the production weights",
            found: if foreign > 0 {
                format!("{found} and weight {foreign} to another target group")
            } else {
                found
            },
            had: format!("set or saw {}", crate::model::format_weights(expected)),
        })
    }

    /// The listener on `port` tagged as the app's, serving as `role`.
    pub(super) async fn tag_listener(
        &self,
        live: &LiveState,
        port: u16,
        role: ListenerRole,
    ) -> Result<Detail, StepError> {
        let arn =
            live.listeners.get(&port).cloned().ok_or_else(|| {
                StepError::Missing(format!("there is no listener on port {port}"))
            })?;
        self.fence().await?;
        self.provider.tag_listener(&self.app, &arn, role).await?;
        Ok(None)
    }

    pub(super) async fn delete_listener(
        &self,
        live: &mut LiveState,
        port: u16,
        arn: &ListenerArn,
    ) -> Result<Detail, StepError> {
        self.fence().await?;
        self.provider.delete_listener(arn).await?;
        live.listeners.remove(&port);
        Ok(None)
    }
}

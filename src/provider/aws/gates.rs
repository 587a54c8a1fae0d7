//! What gates read from AWS: CloudWatch alarms.

use super::errors::err;
use super::Aws;
use crate::gate::{Read, Reading};
use crate::model::observed::AlarmState;
use crate::provider::{ProviderError, Result};
use aws_sdk_cloudwatch as cloudwatch;
use std::collections::BTreeMap;

/// The state of a CloudWatch alarm (metric or composite). An alarm that does
/// not exist is an error, so a gate naming a mistyped alarm fails instead of
/// passing silently.
pub async fn alarm_state(client: &cloudwatch::Client, name: &str) -> Result<AlarmState> {
    let states = alarm_states(client, &[name.to_string()]).await?;
    states
        .get(name)
        .copied()
        .ok_or_else(|| ProviderError::NotFound(format!("CloudWatch alarm {name} does not exist")))
}

/// The most names one DescribeAlarms takes in AlarmNames (CloudWatch API
/// Reference, DescribeAlarms: "Maximum number of 100 items").
const NAMES_PER_CALL: usize = 100;

/// The states of the alarms `names` that exist, metric or composite: one
/// DescribeAlarms per hundred names, its NextToken pages followed (an
/// answer holds at most MaxRecords alarms, 50 unless asked). A name that
/// is absent from the answer does not exist.
pub async fn alarm_states(
    client: &cloudwatch::Client,
    names: &[String],
) -> Result<BTreeMap<String, AlarmState>> {
    let mut states = BTreeMap::new();
    for chunk in names.chunks(NAMES_PER_CALL) {
        let mut token = None;
        loop {
            let out = client
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .alarm_types(cloudwatch::types::AlarmType::MetricAlarm)
                .alarm_types(cloudwatch::types::AlarmType::CompositeAlarm)
                .max_records(100)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| err("DescribeAlarms", e))?;
            let metric = out
                .metric_alarms()
                .iter()
                .map(|a| (a.alarm_name(), a.state_value()));
            let composite = out
                .composite_alarms()
                .iter()
                .map(|a| (a.alarm_name(), a.state_value()));
            for (name, state) in metric.chain(composite) {
                let (Some(name), Some(state)) = (name, state) else {
                    continue;
                };
                let parsed = AlarmState::parse(state.as_str()).ok_or_else(|| {
                    ProviderError::api(
                        "DescribeAlarms",
                        format!(
                            "alarm {name} is in a state cutover does not know: {}",
                            state.as_str()
                        ),
                    )
                })?;
                states.insert(name.to_string(), parsed);
            }
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(states)
}

impl Aws {
    /// What a gate reads: each kind of read, one call or a few.
    pub(super) async fn read_gate(&self, read: &Read) -> Result<Reading> {
        match read {
            Read::Alarm(name) => {
                self.count("DescribeAlarms");
                Ok(Reading::Alarm(alarm_state(&self.cloudwatch, name).await?))
            }
        }
    }
}

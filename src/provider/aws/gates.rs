//! What gates read from AWS: CloudWatch alarms.

use super::errors::err;
use super::Aws;
use crate::gate::{Read, Reading};
use crate::model::observed::AlarmState;
use crate::provider::{ProviderError, Result};
use aws_sdk_cloudwatch as cloudwatch;

/// The state of a CloudWatch alarm (metric or composite). An alarm that does
/// not exist is an error, so a gate naming a mistyped alarm fails instead of
/// passing silently.
pub async fn alarm_state(client: &cloudwatch::Client, name: &str) -> Result<AlarmState> {
    let out = client
        .describe_alarms()
        .alarm_names(name)
        .alarm_types(cloudwatch::types::AlarmType::MetricAlarm)
        .alarm_types(cloudwatch::types::AlarmType::CompositeAlarm)
        .send()
        .await
        .map_err(|e| err("DescribeAlarms", e))?;
    let metric = out.metric_alarms().iter().find_map(|a| a.state_value());
    let composite = out.composite_alarms().iter().find_map(|a| a.state_value());
    let state = metric.or(composite).ok_or_else(|| {
        ProviderError::NotFound(format!("CloudWatch alarm {name} does not exist"))
    })?;
    AlarmState::parse(state.as_str()).ok_or_else(|| {
        ProviderError::api(
            "DescribeAlarms",
            format!(
                "alarm {name} is in a state cutover does not know: {}",
                state.as_str()
            ),
        )
    })
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

//! The CloudWatch alarm gate at the SDK boundary. moto cannot answer the
//! CBOR protocol the current aws-sdk-cloudwatch speaks, so these tests give
//! the real SDK client canned DescribeAlarms responses (aws-smithy-mocks)
//! and check what cutover makes of them.

use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::types::{CompositeAlarm, MetricAlarm, StateValue};
use aws_sdk_cloudwatch::Client;
use aws_smithy_mocks::{mock, mock_client};
use cutover::model::observed::AlarmState;
use cutover::provider::aws::alarm_state;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn an_alarm_in_alarm_state_is_reported_so_the_gate_fails() {
    let rule = mock!(Client::describe_alarms)
        .match_requests(|r| r.alarm_names() == ["shop-5xx"])
        .then_output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(
                    MetricAlarm::builder()
                        .alarm_name("shop-5xx")
                        .state_value(StateValue::Alarm)
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_cloudwatch, [&rule]);
    assert_eq!(
        rt().block_on(alarm_state(&client, "shop-5xx")).unwrap(),
        AlarmState::Alarm
    );
    assert_eq!(rule.num_calls(), 1);
}

#[test]
fn ok_and_composite_alarms_are_read_too() {
    let ok = mock!(Client::describe_alarms).then_output(|| {
        DescribeAlarmsOutput::builder()
            .metric_alarms(
                MetricAlarm::builder()
                    .alarm_name("a")
                    .state_value(StateValue::Ok)
                    .build(),
            )
            .build()
    });
    let composite = mock!(Client::describe_alarms).then_output(|| {
        DescribeAlarmsOutput::builder()
            .composite_alarms(
                CompositeAlarm::builder()
                    .alarm_name("b")
                    .state_value(StateValue::InsufficientData)
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_cloudwatch, [&ok, &composite]);
    let rt = rt();
    assert_eq!(
        rt.block_on(alarm_state(&client, "a")).unwrap(),
        AlarmState::Ok
    );
    assert_eq!(
        rt.block_on(alarm_state(&client, "b")).unwrap(),
        AlarmState::InsufficientData
    );
}

#[test]
fn a_missing_alarm_is_an_error_not_a_pass() {
    let rule =
        mock!(Client::describe_alarms).then_output(|| DescribeAlarmsOutput::builder().build());
    let client = mock_client!(aws_sdk_cloudwatch, [&rule]);
    let err = rt()
        .block_on(alarm_state(&client, "shop-typo"))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("CloudWatch alarm shop-typo does not exist"),
        "{err}"
    );
}

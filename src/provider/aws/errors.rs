//! AWS's errors as cutover says them: one line with the operation, AWS's
//! code and message, the request id and what to do; and the few codes
//! whose meaning cutover depends on.

use crate::provider::{hint_for, ProviderError};
use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::RequestId;

/// An SDK error as one line: the operation, AWS's code and message, the
/// request id and what to do. The whole chain goes to the log (`-v`).
pub(super) fn err<E>(op: &'static str, e: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    tracing::debug!(operation = op, error = %elb::error::DisplayErrorContext(&e), "AWS call failed");
    let request_id = e.request_id().map(str::to_string);
    let (code, message, hint) = match &e {
        SdkError::ServiceError(s) => {
            let code = s.err().code().map(str::to_string);
            // An answer with neither code nor message (a proxy's page, an
            // endpoint that speaks another protocol): its HTTP status is
            // all there is to say.
            let status = s.raw().status().as_u16();
            let message = match (s.err().message(), &code) {
                (Some(m), _) => m.to_string(),
                (None, Some(_)) => format!("AWS gave no message (HTTP {status})"),
                (None, None) => format!(
                    "the endpoint answered HTTP {status} with nothing AWS's SDK could read as an error"
                ),
            };
            let hint = hint_for(code.as_deref().unwrap_or(""));
            (code, message, hint)
        }
        SdkError::TimeoutError(_) => (
            None,
            "no answer in time".to_string(),
            "AWS or the network is slow: run the command again",
        ),
        // Missing or unloadable credentials also fail at dispatch.
        SdkError::DispatchFailure(d)
            if format!("{d:?}").to_ascii_lowercase().contains("credential") =>
        {
            (
                None,
                "no AWS credentials could be loaded".to_string(),
                "set AWS_PROFILE or AWS credentials in the environment, or log in (aws sso login), then run the command again",
            )
        }
        SdkError::DispatchFailure(_) => (
            None,
            "could not reach AWS (the connection failed)".to_string(),
            "check the network and the endpoint, then run the command again",
        ),
        SdkError::ResponseError(_) => (
            None,
            "the answer could not be read".to_string(),
            "the call may have taken effect: run the command again, it picks up from live state",
        ),
        _ => (
            None,
            "the request could not be made".to_string(),
            "run with -v to see why",
        ),
    };
    // The run's budget made this failure final: that is the news.
    let hint = match super::retry::Budget::of_run().stopped() {
        Some(stopped) if !crate::provider::homeward() => stopped.hint().into(),
        _ => hint.into(),
    };
    ProviderError::Aws {
        operation: op.to_string(),
        code,
        message,
        request_id,
        hint,
    }
}

/// Auto Scaling's answer for a group or policy that does not exist: its
/// generic ValidationError, told apart by the message AWS documents for it
/// ("AutoScalingGroup name not found - …", "… policy … not found"). A
/// ValidationError for anything else is not "gone".
pub(super) fn asg_not_found(e: &ProviderError) -> bool {
    matches!(e, ProviderError::Aws { code: Some(c), message, .. }
        if c == "ValidationError" && message.to_ascii_lowercase().contains("not found"))
}

/// AWS's error code, when AWS answered with one.
pub(super) fn code_of(e: &ProviderError) -> Option<&str> {
    match e {
        ProviderError::Aws { code, .. } => code.as_deref(),
        _ => None,
    }
}

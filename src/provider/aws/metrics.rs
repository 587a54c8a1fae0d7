//! What the metric gates read from AWS: one GetMetricData call (and its
//! pages) for every gate of both colours; what the answer means is
//! `gate::metric::read`'s.
//!
//! What AWS does, and this file relies on (CloudWatch API Reference,
//! GetMetricData and MetricDataResult):
//! - One call takes at most 500 MetricDataQuery structures; more are
//!   refused, so cutover does not send them.
//! - Each query's Id is unique in the call, starts with a lower-case
//!   letter and holds letters, digits and underscores (`read::queries`
//!   makes them so); each result comes back under its query's Id.
//! - StartTime is inclusive and EndTime exclusive; a StartTime less than
//!   15 days ago is rounded down to the whole minute (`read` asks for
//!   whole minutes).
//! - An answer over MaxDatapoints (100,800 points unless asked) carries a
//!   NextToken: the same request with that token gives the next page,
//!   until a page has none. A query's results may be spread over pages
//!   (`PartialData` on the earlier ones: "use the NextToken to get more
//!   data points"; `InternalError`: "retry using NextToken, if present"),
//!   so each Id's Timestamps and Values are joined across pages, and its
//!   StatusCode is the one of the last page that answers it.
//! - Each result's StatusCode is `Complete`, `PartialData`, `InternalError`
//!   or `Forbidden`; Timestamps[i] goes with Values[i].
//! - Throttling is an error answer (`Throttling` / `ThrottlingException`)
//!   that the SDK's retries try again, as for every other call (retry.rs).
//! - A MetricDataQuery holds a MetricStat or an Expression, not both
//!   (MetricDataQuery); an Expression's Period is "the granularity, in
//!   seconds, of the returned data points", set to the minute as a
//!   MetricStat's is; ReturnData true returns its points.

use super::errors::err;
use crate::gate::metric::query::Request;
use crate::gate::metric::read::{self, MetricData, MetricQuery, Series};
use crate::provider::{ProviderError, Result};
use aws_sdk_cloudwatch as cloudwatch;
use aws_sdk_cloudwatch::operation::RequestId;
use aws_sdk_cloudwatch::primitives::DateTime;
use cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricDataResult, MetricStat, ScanBy};

/// The most queries one GetMetricData call takes (CloudWatch API Reference).
pub const MAX_QUERIES: usize = 500;

const OP: &str = "GetMetricData";

/// What the user grants for the metric gates to read their numbers.
const GRANT: &str = "allow cloudwatch:GetMetricData to the credentials cutover runs with (docs/iam.md), or drop the metric gates from the plan";

/// Every metric gate's numbers for `q`: one GetMetricData call, following
/// its NextToken pages, read by [`read::assemble`]. A query CloudWatch did
/// not answer whole lands in `incomplete`; one it refused (`Forbidden`) is
/// a denial; more queries than one call takes is an error before sending.
pub async fn metric_data(client: &cloudwatch::Client, q: &MetricQuery) -> Result<MetricData> {
    metric_data_counted(client, q, &|| {}).await
}

/// [`metric_data`], calling `on_call` before each request it sends (a page
/// is a call of its own, for the run's count of calls).
pub(super) async fn metric_data_counted(
    client: &cloudwatch::Client,
    q: &MetricQuery,
    on_call: &(dyn Fn() + Sync),
) -> Result<MetricData> {
    let queries = read::queries(q);
    if queries.len() > MAX_QUERIES {
        return Err(ProviderError::api(
            OP,
            format!(
                "the metric gates need {} queries ({} target groups, {} latency percentiles, {} custom queries) and one call takes at most {MAX_QUERIES}: gate on fewer latency percentiles or custom queries",
                queries.len(),
                q.target_groups.len(),
                q.percentiles.len(),
                q.custom.len()
            ),
        ));
    }
    let asked: Vec<MetricDataQuery> = queries.iter().map(metric_query).collect();
    let answered = pages(client, q, asked, on_call).await?;
    if let Some(denied) = answered.iter().find(|a| a.series.status == "Forbidden") {
        return Err(forbidden(denied, &queries));
    }
    let series: Vec<Series> = answered.into_iter().map(|a| a.series).collect();
    Ok(read::assemble(q, &series))
}

/// One query as CloudWatch takes it: a metric's statistic (MetricStat)
/// or an expression, each over one-minute periods; no Unit (a Unit that
/// does not match the published one gives an empty result). The request
/// itself, its dimensions and filled placeholders, is `read::queries`'s.
fn metric_query(query: &read::Query) -> MetricDataQuery {
    let asked = MetricDataQuery::builder().id(&query.id).return_data(true);
    match &query.request {
        Request::Metric {
            namespace,
            metric_name,
            dimensions,
            stat,
        } => {
            let metric = dimensions.iter().fold(
                Metric::builder()
                    .namespace(namespace)
                    .metric_name(metric_name),
                |m, (name, value)| {
                    m.dimensions(Dimension::builder().name(name).value(value).build())
                },
            );
            asked.metric_stat(
                MetricStat::builder()
                    .metric(metric.build())
                    .period(read::PERIOD_SECS as i32)
                    .stat(stat.text())
                    .build(),
            )
        }
        Request::Expression(e) => asked.expression(e).period(read::PERIOD_SECS as i32),
    }
    .build()
}

/// One query's answer over all pages, with what its last page said.
struct Answer {
    series: Series,
    /// The messages of the last page that answered it ("code: value").
    messages: Vec<String>,
    request_id: Option<String>,
}

/// Sends the call and follows NextToken until a page has none, joining
/// each Id's results in the order the pages came.
async fn pages(
    client: &cloudwatch::Client,
    q: &MetricQuery,
    asked: Vec<MetricDataQuery>,
    on_call: &(dyn Fn() + Sync),
) -> Result<Vec<Answer>> {
    let mut answers: Vec<Answer> = Vec::new();
    let mut token: Option<String> = None;
    let mut page = 0;
    loop {
        page += 1;
        if page > 1 {
            tracing::debug!(operation = OP, page, "aws call: next page");
        }
        on_call();
        let out = client
            .get_metric_data()
            .set_metric_data_queries(Some(asked.clone()))
            .start_time(DateTime::from_secs(q.start))
            .end_time(DateTime::from_secs(q.end))
            .scan_by(ScanBy::TimestampAscending)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| denial_says_what_to_grant(err(OP, e)))?;
        for m in out.messages() {
            tracing::debug!(
                operation = OP,
                code = m.code(),
                message = m.value(),
                "CloudWatch said"
            );
        }
        for result in out.metric_data_results() {
            join(&mut answers, result, out.request_id());
        }
        match out.next_token() {
            None | Some("") => break,
            // A token that does not move on would page forever.
            Some(next) if token.as_deref() == Some(next) => {
                return Err(ProviderError::api(
                    OP,
                    "CloudWatch answered the same NextToken twice, so its pages never end: run the command again",
                ));
            }
            Some(next) => token = Some(next.to_string()),
        }
    }
    Ok(answers)
}

/// Adds one page's result to its Id's answer: its points after the earlier
/// pages', its status and messages instead of theirs.
fn join(answers: &mut Vec<Answer>, result: &MetricDataResult, request_id: Option<&str>) {
    let id = result.id().unwrap_or_default();
    let at = match answers.iter().position(|a| a.series.id == id) {
        Some(at) => at,
        None => {
            answers.push(Answer {
                series: Series {
                    id: id.to_string(),
                    ..Series::default()
                },
                messages: Vec::new(),
                request_id: None,
            });
            answers.len() - 1
        }
    };
    let answer = &mut answers[at];
    answer
        .series
        .timestamps
        .extend(result.timestamps().iter().map(|t| t.secs()));
    answer.series.values.extend(result.values());
    answer.series.status = result
        .status_code()
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "no StatusCode".into());
    answer.messages = result
        .messages()
        .iter()
        .map(|m| {
            format!(
                "{}: {}",
                m.code().unwrap_or("(no code)"),
                m.value().unwrap_or("(no message)")
            )
        })
        .collect();
    answer.request_id = request_id.map(str::to_string);
    if answer.series.status != "Complete" {
        tracing::debug!(operation = OP, id, status = %answer.series.status, messages = ?answer.messages, "a query not answered whole");
    }
}

/// A query CloudWatch answered `Forbidden`: the credentials may not read
/// that metric. A denial (`is_denied`), saying what to grant.
fn forbidden(denied: &Answer, queries: &[read::Query]) -> ProviderError {
    let what = queries
        .iter()
        .find(|q| q.id == denied.series.id)
        .map(|q| format!(" ({} of {})", q.request.describe(), q.target_group))
        .unwrap_or_default();
    let said = if denied.messages.is_empty() {
        String::new()
    } else {
        format!(" ({})", denied.messages.join("; "))
    };
    ProviderError::Aws {
        operation: OP.to_string(),
        // The call went through but this result was refused: it reads as
        // the denial it is.
        code: Some("AccessDenied".into()),
        message: format!(
            "CloudWatch answered the query {}{what} with StatusCode Forbidden{said}",
            denied.series.id
        ),
        request_id: denied.request_id.clone(),
        hint: GRANT.into(),
    }
}

/// A whole call denied says which permission the metric gates need.
fn denial_says_what_to_grant(mut e: ProviderError) -> ProviderError {
    if e.is_denied() {
        if let ProviderError::Aws { hint, .. } = &mut e {
            *hint = GRANT.into();
        }
    }
    e
}

//! A custom metric gate (issue 20): any CloudWatch metric, or a metric-math
//! expression, read per colour: business metrics the app publishes, say.
//! Here: what the gate is, its `query` table's keys and the rules they are
//! held to. Its limits, request floor and window are every metric gate's
//! (`keys.rs`); judging is `mod.rs`'s; filling the placeholders is
//! `query.rs`'s.
//!
//! ```toml
//! [[rollout.gates]]
//! query = { namespace = "Shop", metric_name = "CheckoutFailures", dimensions = { Color = "{color}" }, stat = "Sum" }
//! name = "checkout failures"   # how output names it
//! per_request = true           # the value per request of the colour
//! max_ratio = 1.5
//! ```

use super::query::{self, CustomQuery, Stat, COLOR_PLACEHOLDERS, PLACEHOLDERS};
use crate::gate::Rules;
use crate::spec::located::Located;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;

/// CloudWatch's limits on a metric's names (API Reference, Dimension and
/// Metric): names of at most 255 characters, at most 30 dimensions.
const MAX_NAME_CHARS: usize = 255;
const MAX_DIMENSIONS: usize = 30;

/// A custom gate, as the plan sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CustomMetric {
    pub query: CustomQuery,
    /// How output names the gate.
    pub name: String,
    /// The query's value per request of the colour's target group.
    pub per_request: bool,
    /// The plan wrote its limits as percentages: its values are shown so.
    pub percent: bool,
}

impl CustomMetric {
    /// What it reads: "Shop CheckoutFailures Sum, Color={color}, per request".
    pub fn describe(&self) -> String {
        format!(
            "{}{}",
            self.query.describe(),
            if self.per_request {
                ", per request"
            } else {
                ""
            }
        )
    }
}

/// A custom gate's query: a metric (`namespace`, `metric_name`,
/// `dimensions`, `stat`) or an `expression`. `{color}` ("blue", "green"),
/// `{target_group}` (the colour's TargetGroup dimension,
/// "targetgroup/shop-green/…") and `{load_balancer}` ("app/shop-alb/…") are
/// filled per colour in dimension values and the expression.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawQuery {
    /// Optional (a metric, with `metric_name`): its namespace, e.g. "Shop".
    pub namespace: Option<Located<String>>,
    /// Optional (a metric, with `namespace`): its name, e.g. "CheckoutFailures".
    pub metric_name: Option<Located<String>>,
    /// Optional: the metric's dimensions, name → value, e.g. { Color = "{color}" }.
    pub dimensions: Option<Located<BTreeMap<String, Located<String>>>>,
    /// Optional (required with a metric): the statistic of each minute:
    /// Sum, Average, Minimum, Maximum, SampleCount, or a percentile pNN or pNN.N.
    #[schemars(regex(
        pattern = r"^(Sum|Average|Minimum|Maximum|SampleCount|p[0-9]{1,2}(\.[0-9]{1,2})?)$"
    ))]
    pub stat: Option<Located<String>>,
    /// Optional (instead of a metric): metric math that returns one series
    /// per minute and stands alone, e.g. SUM(SEARCH('{Shop,Color}
    /// MetricName="Failures" Color="{color}"', 'Sum', 60)).
    pub expression: Option<Located<String>>,
}

/// A custom gate's keys beside its query.
pub struct RawCustom<'a> {
    pub query: &'a Located<RawQuery>,
    pub name: Option<&'a Located<String>>,
    pub per_request: Option<&'a Located<bool>>,
    /// The relative limits it sets: their keys and places.
    pub relative: Vec<(&'static str, Range<usize>)>,
    /// Its limits were written as percentages.
    pub percent: bool,
}

/// The custom gate a `query` key sets, held to its rules. `key` names the
/// list ("rollout.gates").
pub fn custom(raw: &RawCustom, key: &str, rules: &mut dyn Rules) -> CustomMetric {
    let query = self::query(raw.query, key, rules);
    let per_request = raw.per_request.is_some_and(|p| *p.get_ref());
    let stat = query.stat();
    if let (Some(p), Some(stat)) = (raw.per_request.filter(|_| per_request), stat) {
        if !stat.counts() {
            rules.error(
                p.span(),
                format!(
                    "`{key}.per_request` divides the query's value by the colour's requests, which makes sense only for a count (Sum or SampleCount), and this query's stat is {:?}",
                    stat.text()
                ),
                format!(
                    "use stat = \"Sum\" or \"SampleCount\", or remove `per_request` to judge the {} as it is",
                    stat.text()
                ),
            );
        }
    }
    if let (false, Some(stat)) = (per_request, stat.filter(|s| s.counts())) {
        for (name, span) in &raw.relative {
            rules.error(
                span.clone(),
                format!(
                    "`{key}.{name}` compares green's {} with blue's, and colours at unequal weights serve unequal traffic, so their {}s do not compare",
                    stat.text(),
                    stat.text()
                ),
                format!(
                    "set per_request = true (each colour's {} per request), or judge green alone with `max`",
                    stat.text()
                ),
            );
        }
    }
    let name = match raw.name {
        Some(n) if n.get_ref().trim().is_empty() => {
            rules.error(
                n.span(),
                format!("`{key}.name` is empty"),
                "name the gate as output should, e.g. name = \"checkout failures\"".into(),
            );
            String::new()
        }
        Some(n) => n.get_ref().trim().to_string(),
        None => match &query {
            CustomQuery::Metric { metric_name, .. } => metric_name.clone(),
            CustomQuery::Expression(_) => "expression".into(),
        },
    };
    CustomMetric {
        query,
        name,
        per_request,
        percent: raw.percent,
    }
}

/// The query: a metric or an expression, never both, with placeholders
/// cutover fills and one that tells the colours apart.
fn query(q: &Located<RawQuery>, key: &str, rules: &mut dyn Rules) -> CustomQuery {
    let raw = q.get_ref();
    let key = format!("{key}.query");
    let metric_keys = raw.namespace.is_some()
        || raw.metric_name.is_some()
        || raw.dimensions.is_some()
        || raw.stat.is_some();
    let mut texts: Vec<(String, &Located<String>)> = Vec::new();
    let query = match (&raw.expression, metric_keys) {
        (Some(e), false) => {
            texts.push((format!("{key}.expression"), e));
            expression(e, &key, rules)
        }
        (Some(_), true) => {
            rules.error(
                q.span(),
                format!("`{key}` has both a metric (`namespace`, `metric_name`, `dimensions`, `stat`) and an `expression`, and a query reads one or the other"),
                "keep the `expression`, or remove it and keep the metric".into(),
            );
            CustomQuery::Expression(String::new())
        }
        (None, false) => {
            rules.error(
                q.span(),
                format!("`{key}` names no metric and no `expression`"),
                "e.g. query = { namespace = \"Shop\", metric_name = \"CheckoutFailures\", dimensions = { Color = \"{color}\" }, stat = \"Sum\" }".into(),
            );
            CustomQuery::Expression(String::new())
        }
        (None, true) => {
            if let Some(d) = &raw.dimensions {
                for (name, value) in d.get_ref() {
                    texts.push((format!("{key}.dimensions.{name}"), value));
                }
            }
            metric(q, &key, rules)
        }
    };
    let named: Vec<&str> = texts
        .iter()
        .flat_map(|(_, t)| query::placeholders(t.get_ref()))
        .map(|(_, name)| name)
        .collect();
    // A misspelt placeholder says so; that the query then names no colour
    // would only repeat it.
    let misspelt = !placeholders_known(&texts, rules);
    // Only a metric or an expression can tell the colours apart (the
    // errors above said what else is wrong).
    let one_kind = raw.expression.is_some() != metric_keys;
    if one_kind && !misspelt && !named.iter().any(|n| COLOR_PLACEHOLDERS.contains(n)) {
        rules.error(
            q.span(),
            format!("`{key}` names neither {{color}} nor {{target_group}}, so it would read the same series for blue and for green and could not judge green"),
            "put one where the colours' series differ: a dimension value, e.g. dimensions = { Color = \"{color}\" }, or the expression's filter, e.g. TargetGroup=\"{target_group}\"".into(),
        );
    }
    query
}

/// A metric: its namespace and name, dimensions and statistic.
fn metric(q: &Located<RawQuery>, key: &str, rules: &mut dyn Rules) -> CustomQuery {
    let raw = q.get_ref();
    let mut name = |v: &Option<Located<String>>, which: &str, example: &str| -> String {
        let Some(v) = v else {
            rules.error(
                q.span(),
                format!("`{key}` names a metric without its `{which}`"),
                format!("a metric is named by `namespace` and `metric_name` together, e.g. {which} = \"{example}\""),
            );
            return String::new();
        };
        let text = v.get_ref();
        if text.trim().is_empty() || text.chars().count() > MAX_NAME_CHARS {
            rules.error(
                v.span(),
                format!("`{key}.{which}` is {} characters long", text.chars().count()),
                format!("CloudWatch names are 1 to {MAX_NAME_CHARS} characters, e.g. {which} = \"{example}\""),
            );
        }
        text.clone()
    };
    let namespace = name(&raw.namespace, "namespace", "Shop");
    let metric_name = name(&raw.metric_name, "metric_name", "CheckoutFailures");
    let dimensions: BTreeMap<String, String> = raw
        .dimensions
        .as_ref()
        .map(|d| {
            d.get_ref()
                .iter()
                .map(|(n, v)| (n.clone(), v.get_ref().clone()))
                .collect()
        })
        .unwrap_or_default();
    if let Some(d) = raw
        .dimensions
        .as_ref()
        .filter(|d| d.get_ref().len() > MAX_DIMENSIONS)
    {
        rules.error(
            d.span(),
            format!("`{key}.dimensions` has {} dimensions", d.get_ref().len()),
            format!("a CloudWatch metric has at most {MAX_DIMENSIONS}"),
        );
    }
    let stat = match &raw.stat {
        Some(s) => stat(s, key, rules),
        None => {
            rules.error(
                q.span(),
                format!("`{key}` names a metric without its `stat`, the statistic of each minute"),
                format!("add stat = \"Sum\" (a count), or one of {}", STATS),
            );
            Stat::Sum
        }
    };
    CustomQuery::Metric {
        namespace,
        metric_name,
        dimensions,
        stat,
    }
}

/// The statistics a query may read, in words.
const STATS: &str =
    "\"Sum\", \"Average\", \"Minimum\", \"Maximum\", \"SampleCount\", or a percentile such as \"p99\" or \"p99.9\"";

fn stat(s: &Located<String>, key: &str, rules: &mut dyn Rules) -> Stat {
    if let Some(stat) = Stat::parse(s.get_ref()) {
        return stat;
    }
    let fixed = ["Sum", "Average", "Minimum", "Maximum", "SampleCount"]
        .into_iter()
        .find(|f| f.eq_ignore_ascii_case(s.get_ref()));
    rules.error(
        s.span(),
        format!(
            "`{key}.stat` is {:?}, not a statistic CloudWatch reads",
            s.get_ref()
        ),
        match fixed {
            Some(f) => format!("write it as CloudWatch does: stat = \"{f}\""),
            None => format!("use {STATS}"),
        },
    );
    Stat::Sum
}

/// An expression: metric math that stands alone, not Metrics Insights.
fn expression(e: &Located<String>, key: &str, rules: &mut dyn Rules) -> CustomQuery {
    let text = e.get_ref();
    let key = format!("{key}.expression");
    let example = "SUM(SEARCH('{Shop,TargetGroup} MetricName=\"Failures\" TargetGroup=\"{target_group}\"', 'Sum', 60))";
    if text.trim().is_empty() {
        rules.error(
            e.span(),
            format!("`{key}` is empty"),
            format!("write metric math that returns one series, e.g. {example}"),
        );
    } else if text
        .trim_start()
        .get(..6)
        .is_some_and(|s| s.eq_ignore_ascii_case("select"))
    {
        rules.error(
            e.span(),
            format!("`{key}` is a Metrics Insights query (SELECT …): a GetMetricData call takes only one of those, and cutover reads every gate for both colours in one call"),
            format!("write it as metric math, e.g. {example}"),
        );
    } else if let Some(id) = references(text) {
        rules.error(
            e.span(),
            format!("`{key}` refers to `{id}`, another query's Id, but cutover sends each gate's expression on its own, beside queries whose Ids it chooses itself"),
            format!("make it stand alone, fetching what it needs with SEARCH, e.g. {example}"),
        );
    }
    CustomQuery::Expression(text.clone())
}

/// The first name in metric math that refers to other queries of the
/// call: an Id (Ids start with a lower-case letter; functions and keywords
/// are upper case) or METRICS(). Quoted text and `{…}` are skipped.
fn references(text: &str) -> Option<String> {
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' | '"' => {
                let mut escaped = false;
                for (_, d) in chars.by_ref() {
                    if d == c && !escaped {
                        break;
                    }
                    escaped = d == '\\' && !escaped;
                }
            }
            '{' => {
                for (_, d) in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                }
            }
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let mut end = i + c.len_utf8();
                while let Some((j, d)) = chars.peek().copied() {
                    if !(d.is_ascii_alphanumeric() || d == '_' || d == '.') {
                        break;
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                let word = &text[i..end];
                if c.is_ascii_lowercase() {
                    return Some(word.to_string());
                }
                if word == "METRICS" {
                    return Some("METRICS()".to_string());
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether each `{placeholder}` in `texts` is one cutover fills; an
/// unknown one is shown where it is.
fn placeholders_known(texts: &[(String, &Located<String>)], rules: &mut dyn Rules) -> bool {
    let mut known = true;
    for (key, text) in texts {
        for (range, name) in query::placeholders(text.get_ref()) {
            if PLACEHOLDERS.contains(&name) {
                continue;
            }
            known = false;
            let suggestion = crate::spec::structure::did_you_mean(name, &PLACEHOLDERS)
                .map(|s| format!("did you mean {{{s}}}? "))
                .unwrap_or_default();
            let span = inside(rules.source(), text.span(), text.get_ref(), range);
            rules.error(
                span,
                format!("`{key}` holds {{{name}}}, which is not a placeholder cutover fills"),
                format!("{suggestion}the placeholders are {{color}} (\"blue\" or \"green\"), {{target_group}} (the colour's TargetGroup dimension, \"targetgroup/shop-green/…\") and {{load_balancer}} (\"app/shop-alb/…\")"),
            );
        }
    }
    known
}

/// Where `range` of a string value lies in the file, when the value is
/// written as it reads (a one-line string without escapes); else the whole
/// value's place.
fn inside(source: &str, span: Range<usize>, value: &str, range: Range<usize>) -> Range<usize> {
    let written = source.get(span.clone()).unwrap_or("");
    let plain = (written.starts_with('\'') && !written.starts_with("'''"))
        || (written.starts_with('"') && !written.starts_with("\"\"\"") && !written.contains('\\'));
    if plain && written.get(1..1 + value.len()) == Some(value) {
        span.start + 1 + range.start..span.start + 1 + range.end
    } else {
        span
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expression_that_names_another_query_is_found_and_search_text_is_not() {
        assert_eq!(references("m1 / m2"), Some("m1".into()));
        assert_eq!(references("SUM(METRICS())"), Some("METRICS()".into()));
        assert_eq!(
            references("SUM(SEARCH('{Shop,Color} MetricName=\"Failures\" Color=\"{color}\"', 'Sum', 60)) * 100 / 1e3"),
            None
        );
        assert_eq!(references("FILL(SUM(SEARCH('x', 'Sum', 60)), 0)"), None);
        assert_eq!(references("IF(x > 1, 1, 0)"), Some("x".into()));
    }

    #[test]
    fn a_placeholder_is_pointed_at_inside_a_plain_string() {
        let source = r#"x = "a{colour}b""#;
        let span = 4..source.len();
        assert_eq!(inside(source, span.clone(), "a{colour}b", 1..9), 6..14);
        assert_eq!(&source[6..14], "{colour}");
        let escaped = r#"x = "a\"{colour}""#;
        assert_eq!(
            inside(escaped, 4..escaped.len(), "a\"{colour}", 2..10),
            4..escaped.len()
        );
    }
}

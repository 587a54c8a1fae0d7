//! The structural check of a plan file: every key known, every value of the
//! right type, every required key present, all reported at once.
//!
//! It walks the TOML document (with spans) beside the plan's JSON Schema,
//! which is generated from the same serde types the parser uses: the schema
//! is the one list of keys and types, so the schema an editor sees and what
//! `validate` accepts cannot drift apart. Semantic rules (ranges, durations,
//! steps, …) are checked afterwards on the typed values, with their own
//! messages.

use super::Diagnostic;
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;
use toml_edit::{ArrayOfTables, ImDocument, InlineTable, Item, Table, Value};

/// What the structural check found.
pub struct Structure {
    pub diagnostics: Vec<Diagnostic>,
    /// Top-level tables with a wrong type or a missing key inside: the typed
    /// parse skips them (unknown keys alone do not count: serde skips those).
    pub broken: BTreeSet<String>,
}

/// A TOML node of any kind, with what the walk needs from it.
#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a Table),
    Inline(&'a InlineTable),
    Tables(&'a ArrayOfTables),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn of_item(item: &'a Item) -> Option<Node<'a>> {
        match item {
            Item::None => None,
            Item::Table(t) => Some(Node::Table(t)),
            Item::ArrayOfTables(a) => Some(Node::Tables(a)),
            Item::Value(Value::InlineTable(t)) => Some(Node::Inline(t)),
            Item::Value(v) => Some(Node::Value(v)),
        }
    }

    fn of_value(v: &'a Value) -> Node<'a> {
        match v {
            Value::InlineTable(t) => Node::Inline(t),
            v => Node::Value(v),
        }
    }

    fn span(self) -> Option<Range<usize>> {
        match self {
            Node::Table(t) => t.span(),
            Node::Inline(t) => t.span(),
            Node::Tables(a) => a.span(),
            Node::Value(v) => v.span(),
        }
    }

    /// What a person would call it: "a string", "an integer", …
    fn kind(self) -> &'static str {
        match self {
            Node::Table(_) | Node::Inline(_) => "a table",
            Node::Tables(_) => "an array of tables",
            Node::Value(v) => match v {
                Value::String(_) => "a string",
                Value::Integer(_) => "an integer",
                Value::Float(_) => "a decimal number",
                Value::Boolean(_) => "a boolean",
                Value::Datetime(_) => "a date-time",
                Value::Array(_) => "an array",
                Value::InlineTable(_) => "a table",
            },
        }
    }

    /// (key, key span, node) for a table's entries.
    fn entries(self) -> Vec<(&'a str, Option<Range<usize>>, Node<'a>)> {
        match self {
            Node::Table(t) => t
                .iter()
                .filter_map(|(k, item)| {
                    Some((k, t.key(k).and_then(|k| k.span()), Node::of_item(item)?))
                })
                .collect(),
            Node::Inline(t) => t
                .iter()
                .map(|(k, v)| (k, t.key(k).and_then(|k| k.span()), Node::of_value(v)))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn elements(self) -> Vec<Node<'a>> {
        match self {
            Node::Tables(a) => a.iter().map(Node::Table).collect(),
            Node::Value(Value::Array(a)) => a.iter().map(Node::of_value).collect(),
            _ => Vec::new(),
        }
    }
}

struct Walker<'a> {
    path: &'a Path,
    source: &'a str,
    root: &'a Json,
    diagnostics: Vec<Diagnostic>,
    broken: BTreeSet<String>,
    /// The top-level table being walked.
    section: String,
}

/// Parses `source` as TOML and checks its structure against `schema`.
/// A TOML syntax error is returned at once: nothing after it can be read.
pub fn check(path: &Path, source: &str, schema: &Json) -> Result<Structure, Box<Diagnostic>> {
    let doc = ImDocument::parse(source).map_err(|e| {
        let message = e.message().trim_end().to_string();
        Box::new(Diagnostic::at(
            path,
            source,
            e.span(),
            format!("TOML syntax: {message}"),
            Some(
                "see https://toml.io for the syntax; strings are quoted, e.g. bake = \"5m\"".into(),
            ),
        ))
    })?;
    let mut w = Walker {
        path,
        source,
        root: schema,
        diagnostics: Vec::new(),
        broken: BTreeSet::new(),
        section: String::new(),
    };
    w.node(Node::Table(doc.as_table()), schema, "", Some(0..0));
    Ok(Structure {
        diagnostics: w.diagnostics,
        broken: w.broken,
    })
}

impl Walker<'_> {
    fn error(&mut self, span: Option<Range<usize>>, message: String, help: Option<String>) {
        self.diagnostics
            .push(Diagnostic::at(self.path, self.source, span, message, help));
    }

    fn node(&mut self, node: Node, schema: &Json, key: &str, fallback: Option<Range<usize>>) {
        let schema = resolve(self.root, schema);
        // A type, or a list of them (a limit: a string or a number).
        let types: Vec<&str> = match schema.get("type") {
            Some(Json::String(t)) => vec![t.as_str()],
            Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
            _ => Vec::new(),
        };
        let fits = |expected: &str| {
            matches!(
                (expected, node),
                ("object", Node::Table(_) | Node::Inline(_))
                    | ("array", Node::Tables(_) | Node::Value(Value::Array(_)))
                    | ("string", Node::Value(Value::String(_)))
                    | ("integer", Node::Value(Value::Integer(_)))
                    // JSON Schema's numbers include the whole ones.
                    | ("number", Node::Value(Value::Integer(_) | Value::Float(_)))
                    | ("boolean", Node::Value(Value::Boolean(_)))
            )
        };
        let expected = match types.iter().find(|t| fits(t)) {
            Some(t) => *t,
            None if types.is_empty() => "",
            None => {
                self.not_a(node, schema, key, &types, fallback);
                return;
            }
        };
        match expected {
            "object" => self.table(node, schema, key, fallback),
            "array" => {
                let items = schema.get("items").cloned().unwrap_or(Json::Null);
                for (i, el) in node.elements().into_iter().enumerate() {
                    let label = if matches!(node, Node::Tables(_)) {
                        key.to_string()
                    } else {
                        format!("{key}[{i}]")
                    };
                    self.node(el, &items, &label, node.span().or(fallback.clone()));
                }
            }
            _ => {}
        }
    }

    /// `node` is none of `types`: what it should be, and an example.
    fn not_a(
        &mut self,
        node: Node,
        schema: &Json,
        key: &str,
        types: &[&str],
        fallback: Option<Range<usize>>,
    ) {
        self.broken.insert(self.section.clone());
        let want: Vec<&str> = types
            .iter()
            .map(|t| match *t {
                "object" => "a table",
                "array" => "an array",
                "string" => "a string",
                "integer" => "a whole number",
                "number" => "a number",
                "boolean" => "true or false",
                other => other,
            })
            .collect();
        let quoted_number = types == ["integer"]
            && matches!(node, Node::Value(Value::String(v))
                if v.value().trim().trim_end_matches('%').parse::<i64>().is_ok());
        let help = if quoted_number {
            Some("write the number without quotes or units, e.g. 2 rather than \"2\"".to_string())
        } else {
            example(key, schema).or_else(|| description(schema))
        };
        self.error(
            node.span().or(fallback),
            format!(
                "`{key}` should be {}, not {}",
                want.join(" or "),
                node.kind()
            ),
            help,
        );
    }

    fn table(&mut self, node: Node, schema: &Json, key: &str, fallback: Option<Range<usize>>) {
        let empty = serde_json::Map::new();
        let props = properties(schema, &empty);
        let prefix = key_prefix(key);
        let entries = node.entries();
        let mut suggested = Vec::new();
        for (k, kspan, child) in &entries {
            if key.is_empty() {
                self.section = k.to_string();
            }
            // A map (`fleet.tags`) takes any key, each value as its schema says.
            let any_key = schema
                .get("additionalProperties")
                .filter(|extra| extra.is_object());
            match props.get(*k).or(any_key) {
                Some(sub) => {
                    let sub = sub.clone();
                    self.node(*child, &sub, &format!("{prefix}{k}"), kspan.clone());
                }
                None => {
                    let at = kspan.clone().or(fallback.clone());
                    suggested.extend(self.unknown(k, child, key, props, at));
                }
            }
        }
        self.missing(node, schema, key, &entries, &suggested, fallback);
    }

    /// An unknown key or table `k` in [`key`]; returns the key suggested instead.
    fn unknown(
        &mut self,
        k: &str,
        child: &Node,
        key: &str,
        props: &serde_json::Map<String, Json>,
        at: Option<Range<usize>>,
    ) -> Option<String> {
        let prefix = key_prefix(key);
        let valid: Vec<&str> = props.keys().map(String::as_str).collect();
        let suggestion = did_you_mean(k, &valid).map(str::to_string);
        let help = match &suggestion {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("valid keys here: {}", list(&valid)),
        };
        let what = match child {
            Node::Table(_) => format!("unknown table [{prefix}{k}]"),
            Node::Tables(_) => format!("unknown table [[{prefix}{k}]]"),
            _ if key.is_empty() => format!("unknown key `{k}` at the top level"),
            _ => format!("unknown key `{k}` in [{key}]"),
        };
        self.error(at, what, Some(help));
        suggestion
    }

    /// Keys and tables the schema requires in [`key`] that `entries` lack.
    fn missing(
        &mut self,
        node: Node,
        schema: &Json,
        key: &str,
        entries: &[(&str, Option<Range<usize>>, Node)],
        suggested: &[String],
        fallback: Option<Range<usize>>,
    ) {
        let empty = serde_json::Map::new();
        let props = properties(schema, &empty);
        let prefix = key_prefix(key);
        let required = schema
            .get("required")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        for r in required.iter().filter_map(Json::as_str) {
            if entries.iter().any(|(k, _, _)| *k == r) {
                continue;
            }
            self.broken.insert(if key.is_empty() {
                r.to_string()
            } else {
                self.section.clone()
            });
            if suggested.iter().any(|s| s == r) {
                // "unknown key `instanse_type` … did you mean `instance_type`?" says it already.
                continue;
            }
            let sub = props
                .get(r)
                .map(|s| resolve(self.root, s).clone())
                .unwrap_or(Json::Null);
            let full = format!("{prefix}{r}");
            let (what, help) = match sub.get("type").and_then(Json::as_str) {
                Some("object") => (format!("table [{full}]"), format!("add a [{full}] table")),
                Some("array")
                    if resolve(self.root, sub.get("items").unwrap_or(&Json::Null)).get("type")
                        == Some(&Json::from("object")) =>
                {
                    (
                        format!("[[{full}]]"),
                        format!("add at least one [[{full}]] table"),
                    )
                }
                _ => (
                    format!("key `{r}`"),
                    match description(&sub) {
                        Some(d) => format!("add `{r} = …`: {d}"),
                        None => format!("add `{r} = …`"),
                    },
                ),
            };
            let place = if key.is_empty() {
                String::new()
            } else {
                format!(" in [{key}]")
            };
            let span = node.span().filter(|s| !s.is_empty()).or(fallback.clone());
            self.error(
                span,
                format!("missing {what}{place}"),
                (!help.is_empty()).then_some(help),
            );
        }
    }
}

/// Follows a `$ref` to its definition in `root`.
fn resolve<'s>(root: &'s Json, schema: &'s Json) -> &'s Json {
    match schema.get("$ref").and_then(Json::as_str) {
        Some(r) => r
            .strip_prefix("#/$defs/")
            .and_then(|name| root.get("$defs")?.get(name))
            .unwrap_or(schema),
        None => schema,
    }
}

/// "e.g. bake = \"5m\"" from the schema's default or examples.
fn example(key: &str, schema: &Json) -> Option<String> {
    let short = key.rsplit('.').next().unwrap_or(key);
    let short = short.split('[').next().unwrap_or(short);
    schema
        .get("default")
        .map(|d| format!("e.g. {short} = {}", toml_literal(d)))
}

fn toml_literal(v: &Json) -> String {
    match v {
        Json::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(toml_literal)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

fn description(schema: &Json) -> Option<String> {
    schema
        .get("description")
        .and_then(Json::as_str)
        .map(|d| d.replace('\n', " "))
}

fn list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The closest valid key to a misspelt one, when it is close enough.
pub fn did_you_mean<'a>(wrong: &str, valid: &[&'a str]) -> Option<&'a str> {
    let wrong_l = wrong.to_ascii_lowercase().replace('-', "_");
    valid
        .iter()
        .map(|v| (strsim::damerau_levenshtein(&wrong_l, v), *v))
        .filter(|(d, v)| *d <= 2.max(v.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v)
}

/// The keys a schema allows in a table (none when it says nothing).
fn properties<'a>(
    schema: &'a Json,
    empty: &'a serde_json::Map<String, Json>,
) -> &'a serde_json::Map<String, Json> {
    schema
        .get("properties")
        .and_then(Json::as_object)
        .unwrap_or(empty)
}

/// "fleet." for keys inside [fleet]; nothing at the top level.
fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("{key}.")
    }
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["instance_type", "image_id", "subnets"];
        assert_eq!(did_you_mean("instanse_type", &keys), Some("instance_type"));
        assert_eq!(did_you_mean("instance-type", &keys), Some("instance_type"));
        assert_eq!(did_you_mean("subnet", &keys), Some("subnets"));
        assert_eq!(did_you_mean("colour", &keys), None);
    }
}

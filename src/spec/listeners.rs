//! `[[listeners]]`: each listener's port, protocol and role, its
//! certificate, and the app's rule on a listener someone else owns (with
//! the rule's header conditions); the spec type and the AWS limits.

use super::located::Located;
use super::raw::{RawListener, RawRule};
use super::{PlanKey, Validator};
use crate::model::{ListenerRole, Protocol};
use std::ops::Range;

/// Most condition values (hosts, paths, methods together) AWS takes in one rule.
const MAX_RULE_VALUES: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerSpec {
    pub port: u16,
    pub protocol: Protocol,
    pub role: ListenerRole,
    pub certificate_arn: Option<String>,
    /// The app's rule on a listener someone else owns.
    pub rule: Option<crate::model::ListenerRule>,
}

impl ListenerSpec {
    /// Where this listener's weights between the colours live.
    pub fn weights_at(&self) -> crate::model::WeightsAt {
        crate::model::WeightsAt::of(self.port, self.rule.is_some())
    }
}

impl Validator<'_> {
    pub(super) fn listeners(
        &mut self,
        l: &Located<Vec<Located<RawListener>>>,
    ) -> Option<(ListenerSpec, Option<ListenerSpec>)> {
        let mut production = None;
        let mut test = None;
        let mut seen_ports: Vec<(i64, Range<usize>)> = Vec::new();
        for item in l.get_ref() {
            let lr = item.get_ref();
            let port = self.port("listeners.port", &lr.port);
            if let Some((_, _)) = seen_ports.iter().find(|(p, _)| *p == *lr.port.get_ref()) {
                self.error(
                    lr.port.span(),
                    format!("listener port {} is used twice", lr.port.get_ref()),
                    "each listener needs its own port",
                );
            }
            seen_ports.push((*lr.port.get_ref(), lr.port.span()));
            let protocol = self.protocol("listeners.protocol", lr.protocol.as_ref());
            let role = match lr.role.get_ref().as_str() {
                "production" => ListenerRole::Production,
                "test" => ListenerRole::Test,
                other => {
                    self.error(
                        lr.role.span(),
                        format!("listener role {other:?} is not one cutover knows"),
                        "use \"production\" (weighted traffic) or \"test\" (100% to the colour being deployed)",
                    );
                    continue;
                }
            };
            let rule = lr.rule.as_ref().map(|r| self.rule(port, r));
            let certificate_arn = self.certificate(item, port, protocol, rule.is_some());
            let spec = ListenerSpec {
                port,
                protocol,
                role,
                certificate_arn,
                rule,
            };
            let slot = match role {
                ListenerRole::Production => &mut production,
                ListenerRole::Test => &mut test,
            };
            if slot.is_some() {
                self.error(
                    lr.role.span(),
                    format!("a second {role} listener"),
                    "a plan has exactly one production listener and at most one test listener",
                );
            } else {
                *slot = Some(spec);
            }
        }
        if production.is_none() {
            self.error(
                l.span(),
                "no production listener",
                "add a [[listeners]] table with role = \"production\"",
            );
        }

        production.map(|p| (p, test))
    }

    /// The listener's certificate: required for HTTPS, refused for HTTP,
    /// and refused with a rule (the listener is someone else's).
    fn certificate(
        &mut self,
        item: &Located<RawListener>,
        port: u16,
        protocol: Protocol,
        rule: bool,
    ) -> Option<String> {
        let lr = item.get_ref();
        let Some(c) = &lr.certificate_arn else {
            if protocol == Protocol::Https && !rule {
                self.error(
                    item.span(),
                    format!("HTTPS listener on port {port} has no certificate_arn"),
                    "add certificate_arn = \"arn:aws:acm:…\" or use protocol = \"HTTP\"",
                );
            }
            return None;
        };
        self.place(PlanKey::Certificate(port), c.span());
        if rule {
            self.error(
                c.span(),
                format!("the listener on port {port} has a rule and a certificate_arn"),
                "with `rule`, the listener and its certificates are someone else's: remove certificate_arn",
            );
        } else if protocol == Protocol::Http {
            self.error(
                c.span(),
                format!("HTTP listener on port {port} has a certificate_arn"),
                "AWS keeps a certificate only on an HTTPS listener (here every plan would show it as a change): remove certificate_arn, or use protocol = \"HTTPS\"",
            );
        }
        Some(c.get_ref().clone())
    }

    /// The app's rule on the listener on `port`.
    fn rule(&mut self, port: u16, r: &Located<RawRule>) -> crate::model::ListenerRule {
        let raw = r.get_ref();
        let priority = self.range("listeners.rule.priority", &raw.priority, 1, 50000, "");
        let list = |v: &Option<Located<Vec<Located<String>>>>| -> Vec<String> {
            v.iter()
                .flat_map(|l| l.get_ref().iter().map(|s| s.get_ref().clone()))
                .collect()
        };
        let (hosts, paths, methods) = (list(&raw.hosts), list(&raw.paths), list(&raw.methods));
        if hosts.is_empty() && paths.is_empty() {
            self.error(
                r.span(),
                format!("the rule on port {port} matches neither hosts nor paths"),
                "add hosts = [\"web.example.com\"] or paths = [\"/api/*\"] (or both)",
            );
        }
        let headers = self.rule_headers(port, raw);
        let values = hosts.len()
            + paths.len()
            + methods.len()
            + headers.values().map(Vec::len).sum::<usize>();
        if values > MAX_RULE_VALUES {
            self.error(
                r.span(),
                format!("the rule on port {port} has {values} condition values; AWS allows {MAX_RULE_VALUES} per rule"),
                "use fewer hosts, paths, methods and header values (a wildcard such as \"*.example.com\" or \"/api/*\" covers several)",
            );
        }
        for m in raw.methods.iter().flat_map(|l| l.get_ref()) {
            let ok = !m.get_ref().is_empty()
                && m.get_ref()
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '-' || c == '_');
            if !ok {
                self.error(
                    m.span(),
                    format!(
                        "{:?} is not an HTTP method as AWS matches them",
                        m.get_ref()
                    ),
                    format!(
                        "write it in capitals, e.g. {:?}",
                        m.get_ref().to_ascii_uppercase()
                    ),
                );
            }
        }
        crate::model::ListenerRule {
            priority,
            hosts,
            paths,
            methods,
            headers,
        }
    }

    /// A rule's header conditions: names HTTP allows (at most 40
    /// characters, as AWS takes them), each with at least one value.
    fn rule_headers(
        &mut self,
        port: u16,
        raw: &RawRule,
    ) -> std::collections::BTreeMap<String, Vec<String>> {
        let Some(headers) = &raw.headers else {
            return Default::default();
        };
        let mut out = std::collections::BTreeMap::new();
        for (name, values) in headers.get_ref() {
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if name.is_empty() || name.len() > 40 || !name.chars().all(token) {
                self.error(
                    headers.span(),
                    format!("{name:?} is not an HTTP header name AWS matches on (port {port})"),
                    "use letters, digits and '-', at most 40 characters, e.g. \"X-Canary\"",
                );
            }
            if values.get_ref().is_empty() {
                self.error(
                    values.span(),
                    format!("header {name:?} in the rule on port {port} has no values"),
                    "list the values it may have, e.g. [\"1\"]",
                );
            }
            let values = values.get_ref().iter().map(|v| v.get_ref().clone());
            out.insert(name.clone(), values.collect());
        }
        out
    }
}

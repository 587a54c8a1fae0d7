//! An HTTP check: a GET cutover makes itself (`shell/checks.rs`); an
//! answer with another status fails it.

use super::{CheckKind, Rules};
use crate::spec::located::Located;
use schemars::JsonSchema;
use serde::Deserialize;

/// An HTTP request the check makes itself.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawHttp {
    /// http:// or https:// URL.
    #[schemars(regex(pattern = r"^https?://"))]
    pub url: Located<String>,
    /// The HTTP status a healthy answer has, 100–599.
    #[schemars(range(min = 100, max = 599), extend("default" = 200))]
    pub expect_status: Option<Located<i64>>,
}

/// "GET http://… (expect 200)".
pub fn describe(url: &str, expect_status: u16) -> String {
    format!("GET {url} (expect {expect_status})")
}

/// The check an `http` table sets, its URL and status held to their rules.
pub(super) fn kind(http: &Located<RawHttp>, key: &str, rules: &mut dyn Rules) -> CheckKind {
    let h = http.get_ref();
    let url = h.url.get_ref().clone();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        rules.error(
            h.url.span(),
            format!("{url:?} is not an http:// or https:// URL"),
            "e.g. url = \"http://shop-alb.example.com:8080/health\"".into(),
        );
    }
    let expect_status = match &h.expect_status {
        Some(s) => rules.range(&format!("{key}.http.expect_status"), s, 100, 599, "") as u16,
        None => 200,
    };
    CheckKind::Http { url, expect_status }
}

//! A plan file value with its place: every error can point at its source.

use schemars::JsonSchema;
use serde::Deserialize;
use std::borrow::Cow;
use std::ops::Range;

/// A value with its byte span in the plan file. Its schema is the value's.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct Located<T>(pub toml::Spanned<T>);

impl<T> Located<T> {
    pub fn get_ref(&self) -> &T {
        self.0.get_ref()
    }

    pub fn span(&self) -> Range<usize> {
        self.0.span()
    }
}

impl<T: JsonSchema> JsonSchema for Located<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }

    fn inline_schema() -> bool {
        T::inline_schema()
    }
}

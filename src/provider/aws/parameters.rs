//! SSM parameters: the active colour, the promotion record and the lock.

use super::errors::err;
use super::observe::{fan_out, SSM_NAMES};
use super::Aws;
use crate::model::Color;
use crate::provider::{ProviderError, Result};
use aws_sdk_ssm as ssm;
use std::collections::BTreeMap;

impl Aws {
    /// SSM String parameters by name: (value, last modified, seconds).
    pub(super) async fn parameters(
        &self,
        names: &[String],
    ) -> Result<BTreeMap<String, (String, i64)>> {
        let chunks = names.chunks(SSM_NAMES).map(|chunk| async move {
            self.count("GetParameters");
            let out = self
                .ssm
                .get_parameters()
                .set_names(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| err("GetParameters", e))?;
            Ok::<_, ProviderError>(
                out.parameters()
                    .iter()
                    .filter_map(|p| {
                        let since = p.last_modified_date().map(|d| d.secs()).unwrap_or(0);
                        Some((p.name()?.to_string(), (p.value()?.to_string(), since)))
                    })
                    .collect::<Vec<_>>(),
            )
        });
        Ok(fan_out(chunks).await?.into_iter().flatten().collect())
    }

    pub(super) async fn put_active(&self, parameter: &str, color: Color) -> Result<()> {
        self.put_record(parameter, color.as_str()).await
    }

    pub(super) async fn put_record(&self, parameter: &str, value: &str) -> Result<()> {
        self.count("PutParameter");
        self.ssm
            .put_parameter()
            .name(parameter)
            .value(value)
            .r#type(ssm::types::ParameterType::String)
            .overwrite(true)
            .send()
            .await
            .map_err(|e| err("PutParameter", e))?;
        Ok(())
    }

    pub(super) async fn try_lock(&self, name: &str, holder: &str) -> Result<Option<String>> {
        self.count("PutParameter");
        // Overwrite off: exactly one of several racing runs creates it.
        match self
            .ssm
            .put_parameter()
            .name(name)
            .value(holder)
            .r#type(ssm::types::ParameterType::String)
            .overwrite(false)
            .send()
            .await
        {
            Ok(_) => Ok(None),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_already_exists()) =>
            {
                Ok(Some(self.read_lock(name).await?.unwrap_or_default()))
            }
            Err(e) => Err(err("PutParameter", e)),
        }
    }

    pub(super) async fn read_lock(&self, name: &str) -> Result<Option<String>> {
        self.count("GetParameter");
        match self.ssm.get_parameter().name(name).send().await {
            Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_string)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                Ok(None)
            }
            Err(e) => Err(err("GetParameter", e)),
        }
    }

    /// GetParameterHistory, every page (at most 50 versions each, the
    /// API's limit); ParameterNotFound is no history (SSM API reference,
    /// GetParameterHistory).
    pub(super) async fn parameter_history(
        &self,
        name: &str,
    ) -> Result<Vec<(String, crate::model::Timestamp)>> {
        let mut pages = self
            .ssm
            .get_parameter_history()
            .name(name)
            .max_results(50)
            .into_paginator()
            .send();
        let mut out = vec![];
        while let Some(page) = pages.next().await {
            self.count("GetParameterHistory");
            let page = match page {
                Ok(page) => page,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_parameter_not_found()) =>
                {
                    return Ok(vec![]);
                }
                Err(e) => return Err(err("GetParameterHistory", e)),
            };
            out.extend(page.parameters().iter().filter_map(|p| {
                let at = p.last_modified_date().map(|d| d.secs()).unwrap_or(0);
                Some((p.version(), p.value()?.to_string(), at))
            }));
        }
        // Oldest first, whatever order the pages came in.
        out.sort_by_key(|(version, _, _)| *version);
        Ok(out.into_iter().map(|(_, v, at)| (v, at)).collect())
    }

    pub(super) async fn delete_parameter(&self, name: &str) -> Result<()> {
        self.count("DeleteParameter");
        match self.ssm.delete_parameter().name(name).send().await {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                Ok(())
            }
            Err(e) => Err(err("DeleteParameter", e)),
        }
    }
}

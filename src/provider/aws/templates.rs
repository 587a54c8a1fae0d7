//! The app's launch template: one version per release, made once (client
//! tokens), found again by the release its description records.

use super::convert::Template;
use super::convert::{group_template, group_version, launch_data, version_from};
use super::errors::{code_of, err};
use super::observe::{fan_out, RoundOne, EC2_PAGE, TEMPLATES_ONE_BY_ONE};
use super::Aws;
use crate::model::observed::{self};
use crate::model::Release;
use crate::provider::convention;
use crate::provider::convention::listing::ListedVersion;
use crate::provider::convention::tags::{self, Made};
use crate::provider::{AppRef, ProviderError, Result};
use aws_sdk_ec2 as ec2;
use std::collections::{BTreeMap, BTreeSet};

/// The client token that makes a release's version of template `id` (or
/// template `name` with the release as its first version) once: EC2
/// answers a repeat with the same parameters (a call whose answer was
/// lost, sent again by the SDK or by the next run) with what it made the
/// first time, and other parameters with IdempotentParameterMismatch (EC2
/// API reference, "Ensuring idempotency"). Tied to the template, so a
/// template made again gets its own. At most 64 characters.
pub(super) fn client_token(id: &str, release: &Release) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{id}\n{}", release.fingerprint));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("cutover-{}", &hex[..48])
}

impl Aws {
    /// `release`'s launch template data, its root volume on the image's
    /// root device.
    pub(super) async fn launch_data_of(
        &self,
        release: &Release,
    ) -> Result<ec2::types::RequestLaunchTemplateData> {
        Ok(launch_data(
            release,
            self.root_device(release).await?.as_deref(),
        ))
    }

    /// The root device name of `release`'s image, when the release sets a
    /// root volume (a mapping on another device would add a second volume
    /// instead of resizing the root). An image EC2 does not describe keeps
    /// the usual "/dev/xvda"; launching it fails anyway, with EC2's reason.
    pub(super) async fn root_device(&self, release: &Release) -> Result<Option<String>> {
        if release.data.root_volume.is_none() {
            return Ok(None);
        }
        self.count("DescribeImages");
        let out = self
            .ec2
            .describe_images()
            .image_ids(&release.data.image_id)
            .send()
            .await;
        let device = match out.map_err(|e| err("DescribeImages", e)) {
            Ok(out) => out
                .images()
                .first()
                .and_then(|i| i.root_device_name())
                .map(str::to_string),
            Err(e) if code_of(&e).is_some_and(|c| c.starts_with("InvalidAMIID")) => None,
            Err(e) => return Err(e),
        };
        Ok(Some(device.unwrap_or_else(|| "/dev/xvda".into())))
    }

    /// The version of template `id` that holds `release`, made when none does.
    pub(super) async fn release_version(&self, id: &str, release: &Release) -> Result<i64> {
        if let Some(v) = self
            .launch_template_versions(id)
            .await?
            .into_iter()
            .filter(|v| v.fingerprint.as_deref() == Some(release.fingerprint.as_str()))
            .map(|v| v.number)
            .max()
        {
            return Ok(v);
        }
        self.count("CreateLaunchTemplateVersion");
        let out = self
            .ec2
            .create_launch_template_version()
            .launch_template_id(id)
            .client_token(client_token(id, release))
            .version_description(tags::release_description(&release.fingerprint))
            .launch_template_data(self.launch_data_of(release).await?)
            .send()
            .await
            .map_err(|e| err("CreateLaunchTemplateVersion", e))?;
        out.launch_template_version()
            .and_then(|v| v.version_number())
            .ok_or_else(|| {
                ProviderError::api("CreateLaunchTemplateVersion", "no version in the response")
            })
    }

    /// A new launch template whose first version holds `release`.
    pub(super) async fn create_launch_template(
        &self,
        app: &AppRef,
        name: &str,
        release: &Release,
    ) -> Result<(String, i64)> {
        self.count("CreateLaunchTemplate");
        let tags = app
            .tags(Made::LaunchTemplate)
            .into_iter()
            .map(|(k, v)| ec2::types::Tag::builder().key(k).value(v).build())
            .collect();
        // A token, as for a version: a create whose answer was lost and is
        // sent again (by the SDK, or by the next run) is answered with the
        // template the first one made.
        let out = self
            .ec2
            .create_launch_template()
            .launch_template_name(name)
            .client_token(client_token(name, release))
            .version_description(tags::release_description(&release.fingerprint))
            .launch_template_data(self.launch_data_of(release).await?)
            .tag_specifications(
                ec2::types::TagSpecification::builder()
                    .resource_type(ec2::types::ResourceType::LaunchTemplate)
                    .set_tags(Some(tags))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| err("CreateLaunchTemplate", e))?;
        let lt = out.launch_template().ok_or_else(|| {
            ProviderError::api("CreateLaunchTemplate", "no template in the response")
        })?;
        Ok((
            lt.launch_template_id().unwrap_or_default().to_string(),
            lt.latest_version_number().unwrap_or(1),
        ))
    }

    /// Launch templates by name: id and latest version, 200 names a call.
    pub(super) async fn launch_templates(
        &self,
        names: &[String],
    ) -> Result<BTreeMap<String, Template>> {
        let chunks = names.chunks(EC2_PAGE).map(|chunk| async move {
            let mut pages = self
                .ec2
                .describe_launch_templates()
                .filters(
                    ec2::types::Filter::builder()
                        .name("launch-template-name")
                        .set_values(Some(chunk.to_vec()))
                        .build(),
                )
                .max_results(EC2_PAGE as i32)
                .into_paginator()
                .send();
            let mut out = Vec::new();
            while let Some(page) = pages.next().await {
                self.count("DescribeLaunchTemplates");
                let page = page.map_err(|e| err("DescribeLaunchTemplates", e))?;
                out.extend(page.launch_templates().iter().filter_map(|t| {
                    let template = Template {
                        id: t.launch_template_id()?.to_string(),
                        latest: t.latest_version_number()?,
                    };
                    Some((t.launch_template_name()?.to_string(), template))
                }));
            }
            Ok::<_, ProviderError>(out)
        });
        Ok(fan_out(chunks).await?.into_iter().flatten().collect())
    }

    pub(super) async fn launch_template_id(&self, name: &str) -> Result<Option<String>> {
        self.count("DescribeLaunchTemplates");
        let out = self
            .ec2
            .describe_launch_templates()
            .filters(
                ec2::types::Filter::builder()
                    .name("launch-template-name")
                    .values(name)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| err("DescribeLaunchTemplates", e))?;
        Ok(out
            .launch_templates()
            .first()
            .and_then(|t| t.launch_template_id().map(str::to_string)))
    }

    /// Every version of template `id`.
    pub(super) async fn launch_template_versions(
        &self,
        id: &str,
    ) -> Result<Vec<observed::LaunchTemplateVersion>> {
        let all = self.describe_versions(Some(id), vec![]).await?;
        Ok(all.iter().map(|(_, v)| convention::version(v)).collect())
    }

    /// Every version of template `name`, for `history`. A template that
    /// does not exist answers InvalidLaunchTemplateName.NotFoundException
    /// (EC2 API reference, DescribeLaunchTemplateVersions): no versions.
    pub(super) async fn template_versions(
        &self,
        name: &str,
    ) -> Result<Vec<crate::provider::TemplateVersion>> {
        let mut pages = self
            .ec2
            .describe_launch_template_versions()
            .launch_template_name(name)
            .max_results(EC2_PAGE as i32)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            self.count("DescribeLaunchTemplateVersions");
            let page = match page.map_err(|e| err("DescribeLaunchTemplateVersions", e)) {
                Ok(page) => page,
                Err(e) if code_of(&e) == Some("InvalidLaunchTemplateName.NotFoundException") => {
                    return Ok(vec![]);
                }
                Err(e) => return Err(e),
            };
            out.extend(page.launch_template_versions().iter().map(|v| {
                crate::provider::TemplateVersion {
                    number: v.version_number().unwrap_or(0),
                    description: v.version_description().map(str::to_string),
                    image: v
                        .launch_template_data()
                        .and_then(|d| d.image_id())
                        .map(str::to_string),
                    created: v.create_time().map(|t| t.secs()),
                }
            }));
        }
        Ok(out)
    }

    /// Versions `versions` of template `id` (all when empty), or with no
    /// `id` the `versions` (`$Latest`) of every template in the region; each
    /// with its template's id.
    pub(super) async fn describe_versions(
        &self,
        id: Option<&str>,
        versions: Vec<String>,
    ) -> Result<Vec<(String, ListedVersion)>> {
        let mut pages = self
            .ec2
            .describe_launch_template_versions()
            .set_launch_template_id(id.map(str::to_string))
            .set_versions((!versions.is_empty()).then_some(versions))
            .max_results(EC2_PAGE as i32)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            self.count("DescribeLaunchTemplateVersions");
            let page = page.map_err(|e| err("DescribeLaunchTemplateVersions", e))?;
            out.extend(page.launch_template_versions().iter().map(version_from));
        }
        Ok(out)
    }

    /// The versions a decision uses, by template id: each template's latest
    /// and the versions its fleets run. Many templates: the region's
    /// `$Latest` in one paged call, then one call for each template with a
    /// fleet on an older version. Few: one call each.
    pub(super) async fn versions(
        &self,
        found: &RoundOne,
    ) -> Result<BTreeMap<String, Vec<ListedVersion>>> {
        let running: Vec<(String, i64)> = found
            .groups
            .iter()
            .filter_map(|g| Some((group_template(g, &found.templates)?, group_version(g)?)))
            .collect();
        let wanted: BTreeMap<&str, BTreeSet<i64>> = found
            .templates
            .values()
            .map(|t| {
                let fleets = running
                    .iter()
                    .filter(|(id, _)| *id == t.id)
                    .map(|(_, v)| *v);
                (
                    t.id.as_str(),
                    observed::versions_read(Some(t.latest), fleets),
                )
            })
            .collect();
        let mut out: BTreeMap<String, Vec<ListedVersion>> = BTreeMap::new();
        if wanted.len() > TEMPLATES_ONE_BY_ONE {
            for (id, v) in self.describe_versions(None, vec!["$Latest".into()]).await? {
                if wanted.contains_key(id.as_str()) {
                    out.entry(id).or_default().push(v);
                }
            }
        }
        let rest = wanted.into_iter().filter_map(|(id, numbers)| {
            let have = out.get(id).map(Vec::as_slice).unwrap_or_default();
            let missing: Vec<String> = numbers
                .into_iter()
                .filter(|n| !have.iter().any(|v| v.version.number == *n))
                .map(|n| n.to_string())
                .collect();
            (!missing.is_empty()).then_some((id.to_string(), missing))
        });
        let read = fan_out(rest.map(|(id, missing)| async move {
            // A version deleted by hand fails the call: read them all then.
            let found = match self.describe_versions(Some(&id), missing).await {
                Err(e) if code_of(&e).is_some_and(|c| c.contains("VersionNotFound")) => {
                    self.describe_versions(Some(&id), vec![]).await?
                }
                other => other?,
            };
            Ok((id, found.into_iter().map(|(_, v)| v).collect::<Vec<_>>()))
        }))
        .await?;
        for (id, versions) in read {
            out.entry(id).or_default().extend(versions);
        }
        Ok(out)
    }

    pub(super) async fn create_launch_template_version(
        &self,
        app: &AppRef,
        template_id: Option<&str>,
        name: &str,
        release: &Release,
    ) -> Result<(String, i64)> {
        // Look before creating: a crash between create and record must not
        // leave a second template or a duplicate version behind.
        let existing = match template_id {
            Some(id) => Some(id.to_string()),
            None => self.launch_template_id(name).await?,
        };
        match existing {
            Some(id) => Ok((id.clone(), self.release_version(&id, release).await?)),
            None => match self.create_launch_template(app, name, release).await {
                // Made by a call whose answer was lost, or by another run:
                // its first version holds this release, or a version for
                // it is added now. EC2 is eventually consistent: a template
                // it says exists may not be listed yet, and the step is
                // tried again shortly (bounded), not failed.
                Err(e)
                    if code_of(&e) == Some("InvalidLaunchTemplateName.AlreadyExistsException") =>
                {
                    let Some(id) = self.launch_template_id(name).await? else {
                        return Err(ProviderError::NotVisibleYet {
                            operation: "DescribeLaunchTemplates".into(),
                            message: format!(
                                "launch template {name} exists (CreateLaunchTemplate said {}) but is not listed yet",
                                e.aws_said()
                            ),
                        });
                    };
                    Ok((id.clone(), self.release_version(&id, release).await?))
                }
                made => made,
            },
        }
    }
}

//! What a release launches: [`LaunchData`], and [`LaunchField`], the one
//! list of its settings that plan, diff and drift show. A new launch
//! setting is a field here, a variant of `LaunchField`, its plan key in the
//! spec, and its write and read back in the provider.

use super::key::named_keys;
use super::{short_hash, shown_user_data};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What the instances of a release run: the launch template data. Any change
/// here is a new release, deployed blue-green.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LaunchData {
    pub image_id: String,
    /// `None` when the group's instance_types say which types it launches.
    /// (Serialised as before when set, so existing releases keep their
    /// fingerprints.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    pub security_groups: Vec<String>,
    pub user_data: Option<String>,
    pub key_name: Option<String>,
    // Added later: serialised only when set, so a release without them
    // keeps the fingerprint it had.
    /// IAM instance profile, by name or ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    /// Detailed (1-minute) CloudWatch monitoring.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub monitoring: bool,
    /// Tags on the instances and their volumes.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: std::collections::BTreeMap<String, String>,
    /// Instance metadata: `Some(true)` requires IMDSv2 session tokens,
    /// `Some(false)` also answers IMDSv1; `None` in a release made before
    /// cutover set it (AWS's default then: IMDSv1 answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imdsv2: Option<bool>,
    /// The root volume; `None`: the image's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_volume: Option<RootVolume>,
}

/// A root volume (EBS) the instances boot from instead of the image's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RootVolume {
    pub size_gib: u32,
    /// gp3, gp2, io1, io2 or standard.
    pub volume_type: String,
    pub encrypted: bool,
    /// Provisioned IOPS (gp3, io1, io2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iops: Option<u32>,
}

impl fmt::Display for RootVolume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} GiB {}", self.size_gib, self.volume_type)?;
        if let Some(iops) = self.iops {
            write!(f, " {iops} IOPS")?;
        }
        f.write_str(if self.encrypted {
            ", encrypted"
        } else {
            ", not encrypted"
        })
    }
}

impl LaunchData {
    /// The instance type as a person reads it in a plan.
    pub fn type_text(&self) -> &str {
        self.instance_type
            .as_deref()
            .unwrap_or("(the group's instance types)")
    }

    /// This launch data as a release made before the defaults cutover
    /// added later (IMDSv2 required) would have it: with the same
    /// fingerprint as such a release when nothing else differs.
    pub fn without_later_defaults(&self) -> LaunchData {
        LaunchData {
            imdsv2: self.imdsv2.filter(|required| !required),
            ..self.clone()
        }
    }

    /// A short, stable hash of the launch data: the release identity.
    pub fn fingerprint(&self) -> String {
        // Canonical JSON of the struct: field order is fixed by the type.
        short_hash(&serde_json::to_vec(self).expect("launch data serialises"))
    }
}

named_keys! {
    /// A setting of the launch data, as plans name it.
    LaunchField {
        Image = "image",
        InstanceType = "instance_type",
        SecurityGroups = "security_groups",
        UserData = "user_data",
        KeyName = "key_name",
        InstanceProfile = "instance_profile",
        Monitoring = "monitoring",
        Tags = "tags",
        Imdsv2 = "imdsv2",
        RootVolume = "root_volume",
    }
}

impl LaunchField {
    /// Its key in the plan file ("fleet.image_id").
    pub fn plan_key(self) -> String {
        let name = match self {
            LaunchField::Image => "image_id",
            other => other.name(),
        };
        format!("fleet.{name}")
    }

    /// Its value in `data` as a person reads it (`None`: not set); user
    /// data only as a hash when `sensitive`.
    pub fn shown(self, data: &LaunchData, sensitive: bool) -> Option<String> {
        let list = |v: &[String]| format!("[{}]", v.join(", "));
        match self {
            LaunchField::Image => Some(data.image_id.clone()),
            LaunchField::InstanceType => data.instance_type.clone(),
            LaunchField::SecurityGroups => Some(list(&data.security_groups)),
            LaunchField::UserData => shown_user_data(data.user_data.as_ref(), sensitive),
            LaunchField::KeyName => data.key_name.clone(),
            LaunchField::InstanceProfile => data.instance_profile.clone(),
            LaunchField::Monitoring => Some(data.monitoring.to_string()),
            LaunchField::Tags => {
                let pairs: Vec<String> =
                    data.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                Some(list(&pairs))
            }
            LaunchField::Imdsv2 => Some(
                match data.imdsv2 {
                    Some(true) => "required",
                    Some(false) => "optional (IMDSv1 answered)",
                    None => "not set (IMDSv1 answered)",
                }
                .to_string(),
            ),
            LaunchField::RootVolume => Some(match &data.root_volume {
                Some(v) => v.to_string(),
                None => "the image's".to_string(),
            }),
        }
    }

    /// Every setting whose shown value differs between `old` and `new`:
    /// `(field, old, new)`.
    pub fn differences(
        old: &LaunchData,
        new: &LaunchData,
        sensitive: bool,
    ) -> Vec<(LaunchField, Option<String>, Option<String>)> {
        LaunchField::ALL
            .iter()
            .map(|f| (*f, f.shown(old, sensitive), f.shown(new, sensitive)))
            .filter(|(_, o, n)| o != n)
            .collect()
    }
}

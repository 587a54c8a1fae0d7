//! `[fleet]`: the launch data and the Auto Scaling groups: capacity,
//! instance types, user data, root volume, scaling, instance profile, tags
//! and on-demand base; the spec type, its rules and the AWS limits.

use super::located::Located;
use super::raw::{RawFleet, RawRootVolume, RawScaling};
use super::{PlanKey, Validator};
use crate::model::{Capacity, LaunchData};
use std::path::Path;

/// Most user tags on one instance (EC2 takes 50; cutover's own are few).
const MAX_INSTANCE_TAGS: usize = 45;

/// Most instance types a MixedInstancesPolicy takes (its overrides).
const MAX_INSTANCE_TYPES: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetSpec {
    pub launch: LaunchData,
    pub subnets: Vec<String>,
    pub capacity: Capacity,
    pub spot: bool,
    /// User data is shown only as a hash.
    pub user_data_sensitive: bool,
    /// The types the group may launch (overrides); empty: the launch data's one.
    pub instance_types: Vec<String>,
    /// With spot: instances kept on-demand.
    pub on_demand_base: u32,
    pub health_check_grace_secs: u32,
    pub warmup_secs: Option<u32>,
    /// Target tracking on the colour that serves.
    pub scaling: Option<crate::model::Scaling>,
}

impl FleetSpec {
    /// User data as plan, diff and JSON show it: the text, or with
    /// `user_data_sensitive` only a short hash of it.
    pub fn shown_user_data(&self, v: Option<&String>) -> Option<String> {
        crate::model::shown_user_data(v, self.user_data_sensitive)
    }
}

impl Validator<'_> {
    pub(super) fn fleet(&mut self, fl: &Located<RawFleet>) -> FleetSpec {
        let f = fl.get_ref();
        let image_id = self.non_empty("fleet.image_id", &f.image_id);
        let list = |v: &Located<Vec<Located<String>>>| -> Vec<String> {
            v.get_ref().iter().map(|s| s.get_ref().clone()).collect()
        };
        let (instance_type, instance_types) = self.instance_types(fl);
        for (i, v) in f.subnets.get_ref().iter().enumerate() {
            self.place(PlanKey::Subnet(i), v.span());
        }
        for (i, v) in f.security_groups.get_ref().iter().enumerate() {
            self.place(PlanKey::SecurityGroup(i), v.span());
        }
        if let Some(k) = &f.key_name {
            self.place(PlanKey::KeyName, k.span());
        }
        let subnets = list(&f.subnets);
        if subnets.is_empty() {
            self.error(
                f.subnets.span(),
                "`fleet.subnets` is empty",
                "list at least one subnet id, e.g. [\"subnet-0abc\"]",
            );
        }
        let security_groups = list(&f.security_groups);
        if security_groups.is_empty() {
            self.error(
                f.security_groups.span(),
                "`fleet.security_groups` is empty",
                "list at least one security group id, e.g. [\"sg-0abc\"]",
            );
        }

        FleetSpec {
            launch: LaunchData {
                image_id,
                instance_type,
                security_groups,
                user_data: self.user_data(fl),
                key_name: f.key_name.as_ref().map(|k| k.get_ref().clone()),
                instance_profile: self.instance_profile(f),
                monitoring: f.monitoring.unwrap_or(false),
                tags: self.instance_tags(f),
                imdsv2: Some(f.imdsv2.unwrap_or(true)),
                root_volume: f.root_volume.as_ref().map(|v| self.root_volume(v)),
            },
            subnets,
            capacity: self.capacity(f),
            spot: f.spot.unwrap_or(false),
            user_data_sensitive: f.user_data_sensitive.unwrap_or(false),
            instance_types,
            on_demand_base: self.on_demand_base(f),
            health_check_grace_secs: self.duration_in(
                "fleet.health_check_grace",
                f.health_check_grace.as_ref(),
                300,
                0,
                86_400,
            ),
            warmup_secs: f
                .warmup
                .as_ref()
                .map(|w| self.duration_in("fleet.warmup", Some(w), 0, 0, 3600)),
            scaling: f.scaling.as_ref().and_then(|s| self.scaling(s)),
        }
    }

    /// min_size ≤ desired_capacity ≤ max_size, desired at least 1.
    fn capacity(&mut self, f: &RawFleet) -> Capacity {
        let min = self.range("fleet.min_size", &f.min_size, 0, 1000, "");
        let max = self.range("fleet.max_size", &f.max_size, 0, 1000, "");
        let desired = self.range("fleet.desired_capacity", &f.desired_capacity, 0, 1000, "");
        if !(min <= desired && desired <= max) {
            self.error(
                f.desired_capacity.span(),
                format!("fleet sizes must satisfy min_size ≤ desired_capacity ≤ max_size, got {min} ≤ {desired} ≤ {max}"),
                "adjust min_size, desired_capacity or max_size",
            );
        } else if desired == 0 {
            self.error(
                f.desired_capacity.span(),
                "`fleet.desired_capacity` is 0: a colour with no instances can never take traffic",
                "use at least 1",
            );
        }
        Capacity { min, max, desired }
    }

    /// `instance_type` (launch data) or `instance_types` (the group's),
    /// exactly one.
    fn instance_types(&mut self, fl: &Located<RawFleet>) -> (Option<String>, Vec<String>) {
        let f = fl.get_ref();
        match (&f.instance_type, &f.instance_types) {
            (Some(t), None) => (Some(self.non_empty("fleet.instance_type", t)), vec![]),
            (None, Some(types)) => {
                let list: Vec<String> = types
                    .get_ref()
                    .iter()
                    .map(|t| t.get_ref().clone())
                    .collect();
                if list.is_empty() || list.len() > MAX_INSTANCE_TYPES {
                    self.error(
                        types.span(),
                        format!(
                            "`fleet.instance_types` has {} types; use 1 to {MAX_INSTANCE_TYPES}",
                            list.len()
                        ),
                        "list the types the group may launch, e.g. [\"t3.small\", \"t3a.small\"]",
                    );
                }
                for (i, t) in types.get_ref().iter().enumerate() {
                    if list[..i].contains(t.get_ref()) {
                        self.error(
                            t.span(),
                            format!("instance type {:?} is listed twice", t.get_ref()),
                            "list each type once",
                        );
                    }
                }
                (None, list)
            }
            (Some(t), Some(_)) => {
                self.error(
                    t.span(),
                    "`fleet.instance_type` and `fleet.instance_types` are both set",
                    "keep one: instance_types for a mix of types (spot pools), instance_type for one",
                );
                (None, vec![])
            }
            // A misspelt key ("instanse_type") is already reported.
            (None, None) if self.reported => (None, vec![]),
            (None, None) => {
                self.error(
                    fl.span(),
                    "the fleet has no instance_type",
                    "add instance_type = \"t3.small\", or instance_types = [\"t3.small\", \"t3a.small\"]",
                );
                (None, vec![])
            }
        }
    }

    /// User data inline, or read from `user_data_file` beside the plan file.
    fn user_data(&mut self, fl: &Located<RawFleet>) -> Option<String> {
        let f = fl.get_ref();
        let Some(file) = &f.user_data_file else {
            return f.user_data.clone();
        };
        if f.user_data.is_some() {
            self.error(
                file.span(),
                "`fleet.user_data` and `fleet.user_data_file` are both set",
                "keep one: the file for a script of any length, user_data for a line or two",
            );
            return None;
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let path = dir.join(file.get_ref());
        match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Some(text),
                Err(_) => {
                    self.error(
                        file.span(),
                        format!("{} is not UTF-8 text", path.display()),
                        "user data is a script or cloud-init text",
                    );
                    None
                }
            },
            Err(e) => {
                self.error(
                    file.span(),
                    format!("cannot read user_data_file {}: {e}", path.display()),
                    "the path is relative to the plan file's folder",
                );
                None
            }
        }
    }

    /// A root volume AWS takes: a type it boots from, a size that type
    /// allows, IOPS where the type has them.
    fn root_volume(&mut self, v: &Located<RawRootVolume>) -> crate::model::RootVolume {
        let r = v.get_ref();
        let volume_type = match &r.volume_type {
            None => "gp3".to_string(),
            Some(t) => {
                if !["gp3", "gp2", "io1", "io2", "standard"].contains(&t.get_ref().as_str()) {
                    self.error(
                        t.span(),
                        format!(
                            "`fleet.root_volume.type` {:?} is not a volume an instance boots from",
                            t.get_ref()
                        ),
                        "use \"gp3\", \"gp2\", \"io1\", \"io2\" or \"standard\"",
                    );
                }
                t.get_ref().clone()
            }
        };
        let provisioned = matches!(volume_type.as_str(), "io1" | "io2");
        let min_size = if provisioned { 4 } else { 1 };
        let size_gib = self.range(
            "fleet.root_volume.size_gib",
            &r.size_gib,
            min_size,
            16384,
            " GiB",
        );
        let iops = r.iops.as_ref().map(|i| {
            let (lo, hi) = match volume_type.as_str() {
                "gp3" => (3000, 16000),
                "io1" => (100, 64000),
                "io2" => (100, 256000),
                other => {
                    self.error(
                        i.span(),
                        format!("a {other} volume has no provisioned IOPS"),
                        "remove `iops`, or use type \"gp3\", \"io1\" or \"io2\"",
                    );
                    return 0;
                }
            };
            self.range("fleet.root_volume.iops", i, lo, hi, "")
        });
        if provisioned && iops.is_none() {
            self.error(
                v.span(),
                format!("an {volume_type} root volume needs `iops`"),
                "add e.g. `iops = 3000`",
            );
        }
        crate::model::RootVolume {
            size_gib,
            volume_type,
            encrypted: r.encrypted.unwrap_or(true),
            iops,
        }
    }

    /// Exactly one target of a target-tracking policy.
    fn scaling(&mut self, s: &Located<RawScaling>) -> Option<crate::model::Scaling> {
        use crate::model::Scaling;
        let r = s.get_ref();
        match (&r.target_cpu, &r.requests_per_target) {
            (Some(cpu), None) => Some(Scaling::Cpu {
                target: self.range("fleet.scaling.target_cpu", cpu, 1, 100, "%"),
            }),
            (None, Some(n)) => Some(Scaling::RequestsPerTarget {
                target: self.range("fleet.scaling.requests_per_target", n, 1, 1_000_000, ""),
            }),
            (cpu, _) => {
                self.error(
                    cpu.as_ref().map_or(s.span(), |c| c.span()),
                    "[fleet.scaling] needs exactly one of target_cpu and requests_per_target",
                    "e.g. `target_cpu = 50`, or `requests_per_target = 1000`",
                );
                None
            }
        }
    }

    fn instance_profile(&mut self, f: &RawFleet) -> Option<String> {
        let p = f.instance_profile.as_ref()?;
        let v = p.get_ref();
        if v.trim().is_empty() || (v.starts_with("arn:") && !v.contains(":instance-profile/")) {
            self.error(
                p.span(),
                format!("`fleet.instance_profile` {v:?} is not an instance profile name or ARN"),
                "e.g. \"shop-web\" or \"arn:aws:iam::123456789012:instance-profile/shop-web\"",
            );
        }
        Some(v.clone())
    }

    /// Tags for the instances and volumes: not AWS's or cutover's own keys.
    fn instance_tags(&mut self, f: &RawFleet) -> std::collections::BTreeMap<String, String> {
        let Some(tags) = &f.tags else {
            return Default::default();
        };
        if tags.get_ref().len() > MAX_INSTANCE_TAGS {
            self.error(
                tags.span(),
                format!(
                    "`fleet.tags` has {} tags; EC2 takes {MAX_INSTANCE_TAGS} per resource",
                    tags.get_ref().len()
                ),
                "keep the ones people search by",
            );
        }
        for (k, v) in tags.get_ref() {
            if k.is_empty() || k.starts_with("aws:") || k.starts_with("cutover:") {
                self.error(
                    v.span(),
                    format!("tag key {k:?} is reserved or empty"),
                    "aws: keys are AWS's and cutover: keys are cutover's; use your own prefix, e.g. \"team\"",
                );
            }
        }
        tags.get_ref()
            .iter()
            .map(|(k, v)| (k.clone(), v.get_ref().clone()))
            .collect()
    }

    /// `on_demand_base`: only with spot, and within the group's size.
    fn on_demand_base(&mut self, f: &RawFleet) -> u32 {
        let Some(v) = &f.on_demand_base else { return 0 };
        let n = self.range("fleet.on_demand_base", v, 0, 1000, "");
        if !f.spot.unwrap_or(false) {
            self.error(
                v.span(),
                "`fleet.on_demand_base` without spot: every instance is on-demand already",
                "set spot = true, or leave on_demand_base out",
            );
        }
        n
    }
}

//! The plan file exactly as TOML spells it (serde types). Nothing here is
//! validated beyond TOML types: `validate` turns these into a [`super::Spec`].
//! Values carry their byte spans so every error can point at its source.
//! Numbers are `i64` so a negative or huge value reaches validation and gets
//! a message of ours instead of a type error.

use serde::Deserialize;
use toml::Spanned;

type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPlan {
    pub app: S<RawApp>,
    pub load_balancer: S<RawLoadBalancer>,
    pub listeners: S<Vec<S<RawListener>>>,
    pub target_group: S<RawTargetGroup>,
    pub fleet: S<RawFleet>,
    pub rollout: Option<S<RawRollout>>,
    pub teardown: Option<RawTeardown>,
    pub state: Option<RawState>,
    pub hooks: Option<RawHooks>,
    pub notify: Option<RawNotify>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApp {
    pub name: S<String>,
    pub region: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoadBalancer {
    pub name: S<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListener {
    pub port: S<i64>,
    pub protocol: Option<S<String>>,
    pub role: S<String>,
    pub certificate_arn: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTargetGroup {
    pub port: S<i64>,
    pub protocol: Option<S<String>>,
    pub vpc_id: S<String>,
    pub deregistration_delay: Option<S<String>>,
    pub health_check: Option<RawHealthCheck>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    pub path: Option<S<String>>,
    pub interval: Option<S<String>>,
    pub timeout: Option<S<String>>,
    pub healthy_threshold: Option<S<i64>>,
    pub unhealthy_threshold: Option<S<i64>>,
    pub matcher: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFleet {
    pub image_id: S<String>,
    pub instance_type: S<String>,
    pub subnets: S<Vec<S<String>>>,
    pub security_groups: S<Vec<S<String>>>,
    pub min_size: S<i64>,
    pub max_size: S<i64>,
    pub desired_capacity: S<i64>,
    pub spot: Option<bool>,
    pub user_data: Option<String>,
    pub key_name: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRollout {
    pub steps: Option<S<Vec<S<i64>>>>,
    pub bake: Option<S<String>>,
    pub health_timeout: Option<S<String>>,
    pub auto_promote: Option<bool>,
    pub smoke: Option<Vec<S<RawCheck>>>,
    pub gates: Option<Vec<S<RawCheck>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    pub command: Option<S<Vec<String>>>,
    pub http: Option<S<RawHttp>>,
    pub alarm: Option<S<String>>,
    pub timeout: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub url: S<String>,
    pub expect_status: Option<S<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTeardown {
    pub policy: Option<S<String>>,
    pub delay: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    pub parameter: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHooks {
    pub before_deploy: Option<S<Vec<String>>>,
    pub after_teardown: Option<S<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    pub webhook_env: Option<S<String>>,
}

//! The plan file exactly as TOML spells it (serde types). Nothing here is
//! validated beyond TOML types: `validate` turns these into a [`super::Spec`].
//! Values carry their byte spans so every error can point at its source.
//! Numbers are `i64` so a negative or huge value reaches validation and gets
//! a message of ours instead of a type error.
//!
//! The same types generate the plan's JSON Schema (`cutover schema`): the
//! doc comments are its descriptions.

pub use super::located::Located;
use crate::gate::RawCheck;
use schemars::JsonSchema;
use serde::Deserialize;

/// A cutover plan (version 1): one application's blue-green deployment.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(title = "cutover plan")]
pub struct RawPlan {
    pub app: Located<RawApp>,
    pub load_balancer: Located<RawLoadBalancer>,
    /// The listeners cutover creates and updates on the load balancer: exactly
    /// one with role "production", at most one with role "test".
    pub listeners: Located<Vec<Located<RawListener>>>,
    pub target_group: Located<RawTargetGroup>,
    pub fleet: Located<RawFleet>,
    #[schemars(extend("default" = {}))]
    pub rollout: Option<Located<RawRollout>>,
    #[schemars(extend("default" = {}))]
    pub teardown: Option<RawTeardown>,
    #[schemars(extend("default" = {}))]
    pub state: Option<RawState>,
    /// Optional: no hooks run without it.
    pub hooks: Option<RawHooks>,
    /// Optional: no notifications without it.
    pub notify: Option<RawNotify>,
}

/// The application.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawApp {
    /// a-z, 0-9 and '-', at most 26 characters so "<name>-green" fits a target group name.
    #[schemars(regex(pattern = r"^[a-z0-9]([a-z0-9-]{0,24}[a-z0-9])?$"))]
    pub name: Located<String>,
    /// Optional AWS region; without it, --region, else the AWS config chain.
    pub region: Option<Located<String>>,
    /// When `cutover apply` of many plans deploys this app: every app of a
    /// lower wave first, and this wave only once those finished well
    /// (staging before production, one region before the next). 0–1000.
    #[schemars(range(min = 0, max = 1000), extend("default" = 0))]
    pub wave: Option<Located<i64>>,
}

/// The existing Application Load Balancer; cutover never creates or deletes it.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawLoadBalancer {
    /// Its name, looked up with DescribeLoadBalancers.
    pub name: Located<String>,
}

/// A listener on the load balancer.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawListener {
    /// 1–65535, unique across listeners.
    #[schemars(range(min = 1, max = 65535))]
    pub port: Located<i64>,
    /// "HTTP" (default) or "HTTPS" (needs certificate_arn).
    #[schemars(extend("enum" = ["HTTP", "HTTPS"], "default" = "HTTP"))]
    pub protocol: Option<Located<String>>,
    /// "production": weighted traffic to blue and green; "test": 100% to the colour being deployed.
    #[schemars(extend("enum" = ["production", "test"]))]
    pub role: Located<String>,
    /// Optional ACM certificate ARN: required for HTTPS, refused for HTTP, and
    /// refused with `rule` (the listener is someone else's).
    pub certificate_arn: Option<Located<String>>,
    /// Optional: share a listener someone else owns. cutover then owns only
    /// this rule on it (tagged with the app), moves weights in the rule's
    /// forward, and never touches the listener's default action or other
    /// rules. The listener must exist.
    pub rule: Option<Located<RawRule>>,
}

/// The app's rule on a shared listener: at least one of hosts and paths.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(extend("anyOf" = [{"required": ["hosts"]}, {"required": ["paths"]}]))]
pub struct RawRule {
    /// 1–50000, unique on the listener; lower is evaluated first.
    #[schemars(range(min = 1, max = 50000))]
    pub priority: Located<i64>,
    /// Optional host headers the rule matches, e.g. ["web.example.com"].
    pub hosts: Option<Located<Vec<Located<String>>>>,
    /// Optional path patterns the rule matches, e.g. ["/api/*"].
    pub paths: Option<Located<Vec<Located<String>>>>,
    /// Optional HTTP methods the rule matches, e.g. ["GET", "HEAD"].
    pub methods: Option<Located<Vec<Located<String>>>>,
    /// Optional HTTP headers the rule matches, each with its values, e.g.
    /// { "X-Canary" = ["1"] }.
    pub headers: Option<Located<RawHeaders>>,
}

/// A rule's header conditions: each header name with the values it may have.
pub type RawHeaders = std::collections::BTreeMap<String, Located<Vec<Located<String>>>>;

/// The blue and green target groups, "<app>-blue" and "<app>-green".
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawTargetGroup {
    /// The port instances serve on, 1–65535.
    #[schemars(range(min = 1, max = 65535))]
    pub port: Located<i64>,
    /// "HTTP" (default) or "HTTPS".
    #[schemars(extend("enum" = ["HTTP", "HTTPS"], "default" = "HTTP"))]
    pub protocol: Option<Located<String>>,
    /// The VPC of the target groups.
    pub vpc_id: Located<String>,
    /// Connection draining before a target leaves, "0s"–"3600s".
    #[schemars(extend("default" = "300s"), regex(pattern = r"^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub deregistration_delay: Option<Located<String>>,
    /// Optional: keep a user on one instance of a colour for this long
    /// (an lb_cookie), "1s"–"7d" written as "1h", "24h". Absent: off.
    #[schemars(regex(pattern = r"^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub stickiness: Option<Located<String>>,
    /// Optional: ramp a new target's share of requests up over this long,
    /// "30s"–"15m"; "0s" or absent: off. Not with least_outstanding_requests.
    #[schemars(extend("default" = "0s"), regex(pattern = r"^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub slow_start: Option<Located<String>>,
    /// How requests are spread over a colour's targets.
    #[schemars(extend("enum" = ["round_robin", "least_outstanding_requests"], "default" = "round_robin"))]
    pub algorithm: Option<Located<String>>,
    #[schemars(extend("default" = {}))]
    pub health_check: Option<RawHealthCheck>,
}

/// The target groups' health check. Changes are applied in place.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawHealthCheck {
    /// Request path, starting with '/'.
    #[schemars(extend("default" = "/"), regex(pattern = r"^/"))]
    pub path: Option<Located<String>>,
    /// Time between checks, "5s"–"300s".
    #[schemars(extend("default" = "30s"), regex(pattern = r"^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub interval: Option<Located<String>>,
    /// Time to wait for an answer, "2s"–"120s", below interval.
    #[schemars(extend("default" = "5s"), regex(pattern = r"^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub timeout: Option<Located<String>>,
    /// Consecutive successes before a target is healthy, 2–10.
    #[schemars(range(min = 2, max = 10), extend("default" = 5))]
    pub healthy_threshold: Option<Located<i64>>,
    /// Consecutive failures before a target is unhealthy, 2–10.
    #[schemars(range(min = 2, max = 10), extend("default" = 2))]
    pub unhealthy_threshold: Option<Located<i64>>,
    /// HTTP codes counted as healthy, within 200–499: "200", "200,204" or "200-299".
    #[schemars(extend("default" = "200"), regex(pattern = r"^[2-4][0-9]{2}(-[2-4][0-9]{2}|(,[2-4][0-9]{2})*)$"))]
    pub matcher: Option<Located<String>>,
}

/// The EC2 fleet: a launch template "<app>" with one version per release, and
/// one Auto Scaling group per colour.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["instance_type"]}, {"required": ["instance_types"]}]))]
pub struct RawFleet {
    /// AMI id. A change here (or in any launch data) is a new release, deployed blue-green.
    pub image_id: Located<String>,
    /// EC2 instance type (launch data). Optional: give this or instance_types.
    pub instance_type: Option<Located<String>>,
    /// Optional, instead of instance_type: the types the group may launch, in
    /// order of preference (a MixedInstancesPolicy; with spot, the pools spot
    /// draws on). A group setting, changed in place.
    #[schemars(length(min = 1, max = 40))]
    pub instance_types: Option<Located<Vec<Located<String>>>>,
    /// With spot: instances kept on-demand whatever spot offers. A group
    /// setting, changed in place.
    #[schemars(extend("default" = 0), range(min = 0, max = 1000))]
    pub on_demand_base: Option<Located<i64>>,
    /// Subnets of the Auto Scaling groups, at least one. Changed in place.
    #[schemars(length(min = 1))]
    pub subnets: Located<Vec<Located<String>>>,
    /// Security groups of the instances, at least one (launch data).
    #[schemars(length(min = 1))]
    pub security_groups: Located<Vec<Located<String>>>,
    /// min_size ≤ desired_capacity ≤ max_size.
    #[schemars(range(min = 0, max = 1000))]
    pub min_size: Located<i64>,
    /// Most instances per colour, ≥ desired_capacity.
    #[schemars(range(min = 0, max = 1000))]
    pub max_size: Located<i64>,
    /// Instances per colour; a new colour must have this many healthy targets before traffic.
    #[schemars(range(min = 1, max = 1000))]
    pub desired_capacity: Located<i64>,
    /// Spot capacity for the fleet.
    #[schemars(extend("default" = false))]
    pub spot: Option<bool>,
    /// Optional user data (launch data); cutover base64-encodes it.
    pub user_data: Option<String>,
    /// Optional, instead of user_data: a file holding it, relative to the
    /// plan file (launch data: its content is).
    pub user_data_file: Option<Located<String>>,
    /// Optional IAM instance profile of the instances, by name or ARN
    /// (launch data). Passing it needs iam:PassRole on its role.
    pub instance_profile: Option<Located<String>>,
    /// Detailed (1-minute) CloudWatch monitoring of the instances (launch data).
    #[schemars(extend("default" = false))]
    pub monitoring: Option<bool>,
    /// Optional tags on the instances and their volumes (launch data).
    pub tags: Option<Located<std::collections::BTreeMap<String, Located<String>>>>,
    /// Show user data only as a hash in plan, diff and their JSON (it holds
    /// a secret). Not launch data.
    #[schemars(extend("default" = false))]
    pub user_data_sensitive: Option<bool>,
    /// Optional EC2 key pair name (launch data).
    pub key_name: Option<Located<String>>,
    /// How long Auto Scaling lets a new instance fail its health checks
    /// before it replaces it (a group setting, changed in place).
    #[schemars(extend("default" = "300s"), regex(pattern = r"^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub health_check_grace: Option<Located<String>>,
    /// Optional: how long a new instance's metrics stay out of scaling
    /// decisions, "0s"–"1h" (a group setting, changed in place).
    #[schemars(regex(pattern = r"^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub warmup: Option<Located<String>>,
    /// Require IMDSv2 session tokens for the instance metadata service
    /// (launch data). false also answers IMDSv1, which request forgery can
    /// use to read the instance role's credentials.
    #[schemars(extend("default" = true))]
    pub imdsv2: Option<bool>,
    /// Optional root volume instead of the image's (launch data).
    pub root_volume: Option<Located<RawRootVolume>>,
    /// Optional target-tracking scaling of the colour that serves.
    pub scaling: Option<Located<RawScaling>>,
}

/// A target-tracking policy: exactly one of target_cpu or
/// requests_per_target. It sits on the colour that serves production; the
/// desired capacity is then the policy's, within min_size and max_size.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawScaling {
    /// Optional: average CPU utilisation to hold, percent (1–100).
    #[schemars(range(min = 1, max = 100))]
    pub target_cpu: Option<Located<i64>>,
    /// Optional: requests per target per minute to hold (ALBRequestCountPerTarget).
    #[schemars(range(min = 1, max = 1000000))]
    pub requests_per_target: Option<Located<i64>>,
}

/// The instances' root volume.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawRootVolume {
    /// Size in GiB, 1–16384 (io1 and io2: at least 4).
    #[schemars(range(min = 1, max = 16384))]
    pub size_gib: Located<i64>,
    /// EBS volume type.
    #[serde(rename = "type")]
    #[schemars(extend("enum" = ["gp3", "gp2", "io1", "io2", "standard"], "default" = "gp3"))]
    pub volume_type: Option<Located<String>>,
    /// Encrypt it (with the account's default EBS key).
    #[schemars(extend("default" = true))]
    pub encrypted: Option<bool>,
    /// Optional provisioned IOPS: gp3 3000–16000, io1 100–64000, io2
    /// 100–256000 (io1 and io2 need it).
    #[schemars(range(min = 100, max = 256000))]
    pub iops: Option<Located<i64>>,
}

/// How a release moves production traffic.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawRollout {
    /// Percent of production traffic on the new colour, strictly ascending, each 1–100, ending at 100.
    #[schemars(extend("default" = [10, 25, 50, 100]), length(min = 1), inner(range(min = 1, max = 100)))]
    pub steps: Option<Located<Vec<Located<i64>>>>,
    /// Time at each step while gates are checked, e.g. "5m".
    #[schemars(extend("default" = "5m"), regex(pattern = r"^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub bake: Option<Located<String>>,
    /// Time for every new target to turn healthy.
    #[schemars(extend("default" = "10m"), regex(pattern = r"^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub health_timeout: Option<Located<String>>,
    /// Optional: during a shift, keep a user on the colour they first
    /// reached for this long ("1s"–"7d", e.g. "10m"). Absent: each request
    /// is weighed on its own. A rollback turns it off so everyone goes home.
    #[schemars(regex(pattern = r"^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub session_affinity: Option<Located<String>>,
    /// false: pause before the first step until `cutover promote`.
    #[schemars(extend("default" = true))]
    pub auto_promote: Option<bool>,
    /// Checks before any production traffic; a failure aborts.
    #[schemars(extend("default" = []))]
    pub smoke: Option<Vec<Located<RawCheck>>>,
    /// Checks during every bake; a failure rolls back.
    #[schemars(extend("default" = []))]
    pub gates: Option<Vec<Located<RawCheck>>>,
    /// What happens when a metric gate has had no evidence by
    /// `evidence_timeout`: hold (production stays at the step, the run
    /// exits 1; `cutover promote` continues, `cutover rollback` goes home)
    /// or rollback (production goes home, exit 3; the release is not
    /// remembered as bad). Never a pass.
    #[schemars(extend("enum" = ["hold", "rollback"], "default" = "hold"))]
    pub on_no_evidence: Option<Located<String>>,
    /// Optional: how long a step may go without every metric gate judging a
    /// window with evidence, from the step's start. Default: three times the
    /// longer of the bake and what a gate needs to judge (window plus
    /// CloudWatch's two minutes).
    #[schemars(regex(pattern = r"^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub evidence_timeout: Option<Located<String>>,
    /// Optional: after promotion, keep judging the gates this long while
    /// the old colour still runs at its capacity ("15m"); a failure rolls
    /// back to it, exit 3. No longer than `teardown.delay`. Absent: no watch.
    #[schemars(regex(pattern = r"^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub watch: Option<Located<String>>,
    /// Optional: when a release may be deployed, e.g. `{ days = "Mon-Fri",
    /// hours = "09:00-16:00", timezone = "Europe/Berlin" }`. `cutover
    /// apply` of a release outside it refuses (exit 1) and says when it
    /// next opens, unless `--ignore-window REASON`. Absent: any time.
    pub window: Option<Located<RawWindow>>,
}

/// The days and hours a release may be deployed, in an IANA time zone.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawWindow {
    /// Days: "Mon-Fri", "Mon,Wed,Fri", "Sat-Sun", or a span across the
    /// week's end ("Fri-Mon").
    pub days: Located<String>,
    /// Local hours, one span within a day: "09:00-16:00" (from 09:00 until 16:00).
    #[schemars(regex(pattern = r"^[0-9]{2}:[0-9]{2}-[0-9]{2}:[0-9]{2}$"))]
    pub hours: Located<String>,
    /// An IANA time zone ("Europe/Berlin", "America/New_York", "UTC");
    /// daylight saving follows it.
    pub timezone: Located<String>,
}

/// What happens to the old colour after a promotion.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawTeardown {
    /// scale-to-zero: keep the empty Auto Scaling group; delete: remove it; keep: leave it running.
    #[schemars(extend("enum" = ["scale-to-zero", "delete", "keep"], "default" = "scale-to-zero"))]
    pub policy: Option<Located<String>>,
    /// The instant-rollback window before the old colour is torn down.
    #[schemars(extend("default" = "30m"), regex(pattern = r"^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$"))]
    pub delay: Option<Located<String>>,
}

/// Where cutover records the active colour.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawState {
    /// SSM String parameter holding the active colour; optional, "/cutover/<app>/active" without it.
    #[schemars(regex(pattern = r"^/[a-zA-Z0-9_.\-/]{1,1010}$"))]
    pub parameter: Option<Located<String>>,
}

/// Commands around a deployment, for expand-contract database migrations.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawHooks {
    /// Optional: runs before the new colour is built.
    #[schemars(length(min = 1))]
    pub before_deploy: Option<Located<Vec<String>>>,
    /// Optional: runs after the old release has no instances and no traffic.
    #[schemars(length(min = 1))]
    pub after_teardown: Option<Located<Vec<String>>>,
}

/// Deployment notifications.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawNotify {
    /// Optional: name of the environment variable holding the webhook URL (never the URL).
    #[schemars(regex(pattern = r"^[A-Za-z0-9_]+$"))]
    pub webhook_env: Option<Located<String>>,
}

/// The top-level tables of a plan, each parsed on its own, so that a broken
/// one (reported by the structural check) does not hide the errors of the others.
#[derive(Debug, Default)]
pub struct Sections {
    pub app: Option<Located<RawApp>>,
    pub load_balancer: Option<Located<RawLoadBalancer>>,
    pub listeners: Option<Located<Vec<Located<RawListener>>>>,
    pub target_group: Option<Located<RawTargetGroup>>,
    pub fleet: Option<Located<RawFleet>>,
    pub rollout: Option<Located<RawRollout>>,
    pub teardown: Option<RawTeardown>,
    pub state: Option<RawState>,
    pub hooks: Option<RawHooks>,
    pub notify: Option<RawNotify>,
}

/// Parses every section not in `skip`; returns the sections and the errors of
/// those that still failed.
pub fn sections(
    source: &str,
    skip: &std::collections::BTreeSet<String>,
) -> (Sections, Vec<toml::de::Error>) {
    let mut errors = Vec::new();
    let mut out = Sections::default();
    macro_rules! section {
        ($field:ident, $ty:ty) => {{
            #[derive(Deserialize)]
            struct Only {
                $field: Option<$ty>,
            }
            if !skip.contains(stringify!($field)) {
                match toml::from_str::<Only>(source) {
                    Ok(only) => out.$field = only.$field,
                    Err(e) => errors.push(e),
                }
            }
        }};
    }
    section!(app, Located<RawApp>);
    section!(load_balancer, Located<RawLoadBalancer>);
    section!(listeners, Located<Vec<Located<RawListener>>>);
    section!(target_group, Located<RawTargetGroup>);
    section!(fleet, Located<RawFleet>);
    section!(rollout, Located<RawRollout>);
    section!(teardown, RawTeardown);
    section!(state, RawState);
    section!(hooks, RawHooks);
    section!(notify, RawNotify);
    (out, errors)
}

/// The plan's JSON Schema, generated from these types, as JSON text.
pub fn json_schema() -> String {
    serde_json::to_string_pretty(schema_value()).expect("schema serialises") + "\n"
}

/// The plan's JSON Schema as a value (made once).
pub fn schema_value() -> &'static serde_json::Value {
    static SCHEMA: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema = schemars::schema_for!(RawPlan).to_value();
        drop_null(&mut schema);
        crate::model::sort_keys(&mut schema);
        schema
    })
}

/// TOML has no null: an optional key is one that may be left out, so the
/// `null` alternatives schemars gives `Option` fields are removed.
fn drop_null(v: &mut serde_json::Value) {
    use serde_json::Value;
    let Value::Object(map) = v else {
        if let Value::Array(items) = v {
            items.iter_mut().for_each(drop_null);
        }
        return;
    };
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            map.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(any)) = map.get_mut("anyOf") {
        any.retain(|s| s.get("type").and_then(Value::as_str) != Some("null"));
        if any.len() == 1 {
            let only = any.remove(0);
            map.remove("anyOf");
            if let Value::Object(inner) = only {
                for (k, val) in inner {
                    map.entry(k).or_insert(val);
                }
            }
        }
    }
    map.values_mut().for_each(drop_null);
}

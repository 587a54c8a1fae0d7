//! A moto server per test (its own port, its own state), started by the
//! harness. The AWS tests never skip: without moto they fail and say how to
//! install it (`scripts/test` does).

use crate::harness::{cutover, Run};
use aws_sdk_autoscaling as asg;
use aws_sdk_ec2 as ec2;
use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_ssm as ssm;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct Moto {
    child: Child,
    pub endpoint: String,
    pub rt: tokio::runtime::Runtime,
    pub elb: elb::Client,
    pub asg: asg::Client,
    pub ec2: ec2::Client,
    pub ssm: ssm::Client,
    pub acm: aws_sdk_acm::Client,
    pub dir: tempfile::TempDir,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How much like AWS the test server behaves (tests/support/moto_server.py).
/// By default Auto Scaling acts a second after the call, as it does on AWS
/// (seconds there): every AWS test runs against scaling that acts later.
#[derive(Clone, Debug)]
pub struct Like {
    /// Seconds between an Auto Scaling call and its scaling activity.
    pub asg_delay: f64,
    /// Seeds the random faults, so a failing run repeats.
    pub seed: u64,
    /// AWS's own durations (an instance's boot, the health checks before
    /// a target turns healthy, the deregistration delay) times this: they
    /// take real time, compressed so CI stays quick.
    pub time_scale: f64,
}

/// The time scale every moto test runs at: a 10 s health-check interval
/// with a healthy threshold of 2 takes 0.6 s, a 30 s deregistration delay
/// 0.9 s, an instance's boot 0.9 s: each state is there for cutover's
/// waits to see, without slowing CI much.
pub const TIME_SCALE: f64 = 0.03;

impl Default for Like {
    fn default() -> Like {
        Like {
            asg_delay: 1.0,
            seed: 0,
            time_scale: TIME_SCALE,
        }
    }
}

/// Starts tests/support/moto_server.py with the venv's Python beside
/// moto_server; returns it and its port.
fn support_server(like: &Like) -> (Child, u16) {
    use std::io::BufRead;
    let python = moto_server().with_file_name("python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/moto_server.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .args(["-H", "127.0.0.1", "-p", "0"])
        .args(["--asg-delay", &like.asg_delay.to_string()])
        .args(["--seed", &like.seed.to_string()])
        .args(["--time-scale", &like.time_scale.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {} {}: {e}", python.display(), script.display()));
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the port");
    let port = line
        .trim()
        .strip_prefix("PORT=")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the test server did not say its port: {line:?}"));
    (child, port)
}

fn moto_server() -> PathBuf {
    if let Some(p) = std::env::var_os("CUTOVER_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
    assert!(
        local.exists(),
        "moto is not installed: run scripts/test (it installs moto[server]==5.2.5 into .venv), \
         or set CUTOVER_MOTO_SERVER to a moto_server binary"
    );
    local
}

/// The environment that points the binary (and the SDK) at this server.
pub fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_CONFIG_FILE", "/dev/null".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        // Retries after an injected fault wait milliseconds, not seconds.
        ("CUTOVER_TEST_RETRY_BACKOFF_MS", "20".into()),
    ]
}

/// The SDK's configuration for the test's own calls to a server at `endpoint`.
pub async fn sdk_config(endpoint: &str) -> aws_types::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}

impl Moto {
    /// A server that acts like AWS in the ways `like` asks for.
    pub fn start_with(like: Like) -> Moto {
        let (child, port) = support_server(&like);
        let endpoint = format!("http://127.0.0.1:{port}");
        let rt = tokio::runtime::Runtime::new().unwrap();
        let conf = rt.block_on(sdk_config(&endpoint));
        Moto {
            child,
            endpoint,
            elb: elb::Client::new(&conf),
            asg: asg::Client::new(&conf),
            ec2: ec2::Client::new(&conf),
            ssm: ssm::Client::new(&conf),
            acm: aws_sdk_acm::Client::new(&conf),
            rt,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A VPC with two subnets, a security group and the load balancer
    /// `shop-alb`: what a user has before cutover. Returns (vpc, subnets, sg).
    pub fn network(&self) -> (String, Vec<String>, String) {
        self.rt.block_on(async {
            let vpc = self
                .ec2
                .create_vpc()
                .cidr_block("10.0.0.0/16")
                .send()
                .await
                .unwrap();
            let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
            let mut subnets = Vec::new();
            for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
                let s = self
                    .ec2
                    .create_subnet()
                    .vpc_id(&vpc)
                    .cidr_block(format!("10.0.{i}.0/24"))
                    .availability_zone(*az)
                    .send()
                    .await
                    .unwrap();
                subnets.push(s.subnet().unwrap().subnet_id().unwrap().to_string());
            }
            let sg = self
                .ec2
                .create_security_group()
                .group_name("shop")
                .description("shop")
                .vpc_id(&vpc)
                .send()
                .await
                .unwrap();
            let sg = sg.group_id().unwrap().to_string();
            self.elb
                .create_load_balancer()
                .name("shop-alb")
                .set_subnets(Some(subnets.clone()))
                .security_groups(&sg)
                .send()
                .await
                .unwrap();
            (vpc, subnets, sg)
        })
    }

    /// Replaces the fault rules (see tests/support/moto_server.py).
    pub fn faults(&self, rules: serde_json::Value) {
        self.control("/_fault/rules", &rules.to_string());
    }

    /// For `secs` after a ModifyListener, DescribeListeners still shows the
    /// listener as it was (ELBv2's reads are eventually consistent).
    pub fn stale_listener_reads(&self, secs: f64) {
        self.control("/_fault/stale_listener_secs", &secs.to_string());
    }

    /// Launches of these images fail, as a scaling activity with AWS's
    /// message (with deferred scaling, the default).
    pub fn failing_images(&self, images: &[&str]) {
        self.control(
            "/_fault/failing_images",
            &serde_json::json!(images).to_string(),
        );
    }

    /// How many faults of each kind were injected, and how many calls came.
    pub fn fault_stats(&self) -> serde_json::Value {
        serde_json::from_str(&self.control("/_fault/stats", "")).expect("stats are JSON")
    }

    /// How many calls of each operation the server received, keyed
    /// "service:Operation" (faulted ones included).
    pub fn calls(&self) -> serde_json::Value {
        serde_json::from_str(&self.control("/_fault/calls", "")).expect("calls are JSON")
    }

    fn control(&self, path: &str, body: &str) -> String {
        use std::io::{Read, Write};
        let addr = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).expect("test server");
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
        answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default()
    }

    /// `cutover ARGS…` against this server, in this test's directory.
    pub fn cutover(&self, args: &[&str]) -> Run {
        self.cutover_env(args, &[])
    }

    /// The same with more environment for that one process (never the
    /// test process's own environment, which parallel tests share).
    pub fn cutover_env(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let env = aws_env(&self.endpoint);
        let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.extend_from_slice(extra);
        cutover(args, &env, self.dir.path())
    }

    /// The same, without waiting: for stopping instances mid-bake.
    pub fn spawn(&self, args: &[&str]) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1");
        for (k, v) in aws_env(&self.endpoint) {
            cmd.env(k, v);
        }
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

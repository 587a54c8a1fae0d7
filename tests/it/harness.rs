//! Test harness: run the `cutover` binary, hold a plan file and a sandbox in a
//! temporary directory, and read back what changed in the (simulated) cloud.

use cutover::model::Weights;
use cutover::provider::sandbox::{Clock, World};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The result of one `cutover` run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn expect(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Standard output says each of `texts`.
    #[track_caller]
    pub fn prints(&self, texts: &[&str]) -> &Run {
        for t in texts {
            assert!(
                self.stdout.contains(t),
                "stdout lacks {t:?}:\n{}",
                self.stdout
            );
        }
        self
    }

    /// Standard error (the progress) says each of `texts`.
    #[track_caller]
    pub fn shows(&self, texts: &[&str]) -> &Run {
        for t in texts {
            assert!(
                self.stderr.contains(t),
                "stderr lacks {t:?}:\n{}",
                self.stderr
            );
        }
        self
    }
}

/// Runs the binary with `args` (and extra environment).
pub fn cutover(args: &[&str], env: &[(&str, &str)], dir: &Path) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
    cmd.args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CUTOVER_CRASH_AFTER_STEP");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the cutover binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The plan the scenarios deploy, with the image and the teardown delay as knobs.
pub fn plan_toml(image: &str, teardown_delay: &str) -> String {
    format!(
        r#"[app]
name = "shop"

[load_balancer]
name = "shop-alb"

[[listeners]]
port = 80
protocol = "HTTP"
role = "production"

[[listeners]]
port = 8080
protocol = "HTTP"
role = "test"

[target_group]
port = 8080
protocol = "HTTP"
vpc_id = "vpc-0test"
deregistration_delay = "30s"

[target_group.health_check]
path = "/health"
interval = "10s"
timeout = "5s"
healthy_threshold = 2
unhealthy_threshold = 3
matcher = "200-299"

[fleet]
image_id = "{image}"
instance_type = "t3.small"
subnets = ["subnet-a", "subnet-b"]
security_groups = ["sg-0123"]
min_size = 2
max_size = 4
desired_capacity = 2

[rollout]
steps = [10, 25, 50, 100]
bake = "5m"
health_timeout = "10m"

[teardown]
policy = "scale-to-zero"
delay = "{teardown_delay}"
"#
    )
}

/// A plan file and a sandbox (virtual clock) in a temporary directory.
pub struct SandboxEnv {
    pub dir: tempfile::TempDir,
    pub plan: PathBuf,
    pub sandbox: PathBuf,
}

impl SandboxEnv {
    pub fn new(plan: &str) -> SandboxEnv {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = SandboxEnv {
            plan: dir.path().join("shop.toml"),
            sandbox: dir.path().join("sandbox.json"),
            dir,
        };
        env.set_plan(plan);
        let sb = cutover::provider::sandbox::Sandbox::open(&env.sandbox).expect("sandbox");
        sb.with_world(|w| w.settings.clock = Clock::Virtual)
            .expect("save");
        env
    }

    pub fn set_plan(&self, plan: &str) {
        std::fs::write(&self.plan, plan).expect("write plan");
    }

    /// `cutover ARGS… PLAN --sandbox SANDBOX`
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_env(args, &[])
    }

    /// `cutover ARGS… --sandbox SANDBOX`, no plan file (what the account
    /// and region hold: `freeze`, `thaw`).
    pub fn run_region(&self, args: &[&str]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--sandbox", "sandbox.json"]);
        cutover(&all, &[], self.dir.path())
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        all.push("shop.toml");
        all.extend(["--sandbox", "sandbox.json"]);
        cutover(&all, env, self.dir.path())
    }

    pub fn world(&self) -> World {
        serde_json::from_slice(&std::fs::read(&self.sandbox).expect("sandbox file"))
            .expect("sandbox json")
    }

    pub fn edit(&self, f: impl FnOnce(&mut World)) {
        let sb = cutover::provider::sandbox::Sandbox::open(&self.sandbox).expect("sandbox");
        sb.with_world(f).expect("save");
    }

    /// Production weights as the sandbox's listener on port 80 has them,
    /// or shop's rule on it when the plan shares the listener.
    pub fn weights(&self) -> Weights {
        let w = self.world();
        let (arn, l) = w
            .listeners
            .iter()
            .find(|(_, l)| l.port == 80)
            .expect("production listener");
        let rule = w.rules.values().find(|r| {
            r.listener_arn == *arn && r.tags.get("cutover:app").map(String::as_str) == Some("shop")
        });
        let forward = rule.map(|r| &r.forward).unwrap_or(&l.forward);
        let mut out = Weights { blue: 0, green: 0 };
        for (arn, weight) in forward {
            if w.target_groups[arn].name == "shop-blue" {
                out.blue += weight;
            } else {
                out.green += weight;
            }
        }
        out
    }

    pub fn active(&self) -> Option<String> {
        self.world()
            .parameters
            .get("/cutover/shop/active")
            .map(|p| p.value.clone())
    }

    /// (desired capacity, instances) of `shop-<color>`.
    /// (desired capacity, instances not yet terminated), as Auto Scaling
    /// describes the fleet now, with the simulated time since the last call
    /// counted in.
    pub fn fleet(&self, color: &str) -> Option<(u32, usize)> {
        self.edit(|w| {
            w.settle();
        });
        self.world()
            .fleets
            .get(&format!("shop-{color}"))
            .map(|f| (f.capacity.desired, f.instances.len()))
    }

    /// `cutover ARGS… PLAN --sandbox SANDBOX` started in the background.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(args)
            .args(["shop.toml", "--sandbox", "sandbox.json"])
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("CUTOVER_CRASH_AFTER_STEP")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the cutover binary runs")
    }

    /// Waits (up to a minute) until production is at `w`, as another
    /// process writes it.
    pub fn wait_for_traffic(&self, w: Weights) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while self.weights() != w {
            assert!(std::time::Instant::now() < deadline, "never reached {w:?}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Whether shop's lock parameter exists.
    pub fn locked(&self) -> bool {
        self.world()
            .parameters
            .contains_key("/cutover/shop/active-lock")
    }

    pub fn calls(&self, op: &str) -> u64 {
        self.world().calls.get(op).copied().unwrap_or(0)
    }
}

/// A tiny HTTP server on loopback that answers each request with the next
/// status of a list (the last one repeats) and keeps the request bodies, for
/// HTTP smoke tests, gates and webhooks.
pub struct HttpServer {
    pub url: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl HttpServer {
    pub fn start(statuses: &[u16]) -> HttpServer {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = bodies.clone();
        let statuses = statuses.to_vec();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the headers, then as much body as content-length says.
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    data.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&data).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if data.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&data).to_string();
                let body = text
                    .split_once("\r\n\r\n")
                    .map(|(_, b)| b.to_string())
                    .unwrap_or_default();
                let n = {
                    let mut all = seen.lock().unwrap();
                    all.push(body);
                    all.len() - 1
                };
                let status = statuses[n.min(statuses.len() - 1)];
                let reply = format!("status {status}\n");
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                    reply.len()
                );
            }
        });
        HttpServer { url, bodies }
    }

    pub fn requests(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }

    /// The JSON bodies received so far.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .filter_map(|b| serde_json::from_str(b).ok())
            .collect()
    }
}

/// A command run through `script`, which gives it a terminal as a person
/// at a shell has: the test reads what the terminal shows and types into it.
/// The terminal stays open until the command ends, as a person's would.
pub struct Terminal {
    child: std::process::Child,
    seen: std::sync::Arc<std::sync::Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Terminal {
    pub fn open(dir: &Path, cmd: &str, env: &[(&str, &str)]) -> Terminal {
        Terminal::open_with(dir, cmd, env, true)
    }

    /// The same, with `NO_COLOR` set (as `open` has it) or not at all.
    pub fn open_with(dir: &Path, cmd: &str, env: &[(&str, &str)], no_color: bool) -> Terminal {
        use std::io::Read;
        // script runs `$SHELL -c`. Without `exec`, /bin/sh (dash, where
        // SHELL is unset, as in CI) stays the command's parent in its process
        // group; a typed Ctrl-C then ends the shell too, and script reports
        // the shell's 130 rather than the command's own exit code.
        let cmd = format!("exec {cmd}");
        let mut script = std::process::Command::new("script");
        if no_color {
            script.env("NO_COLOR", "1");
        } else {
            script.env_remove("NO_COLOR");
        }
        let mut child = script
            .args(["-qfec", &cmd, "/dev/null"])
            .current_dir(dir)
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("script runs");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut stdout = child.stdout.take().expect("stdout");
        let into = seen.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                into.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Terminal {
            child,
            seen,
            reader,
        }
    }

    /// Waits (up to a minute) until `ready` holds.
    pub fn wait_until(&self, what: &str, mut ready: impl FnMut(&str) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !ready(&self.seen.lock().unwrap()) {
            assert!(
                std::time::Instant::now() < deadline,
                "never saw {what}: {}",
                self.seen.lock().unwrap()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn type_in(&mut self, keys: &[u8]) {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().expect("stdin");
        stdin.write_all(keys).expect("type");
        stdin.flush().expect("type");
    }

    /// Waits (up to two minutes) for the command to end: (exit code,
    /// everything shown). The terminal stays open meanwhile, as a person's
    /// would (`Child::wait` would close script's stdin first).
    pub fn finish(mut self) -> (Option<i32>, String) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("script runs") {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the command never ended: {}", self.seen.lock().unwrap());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        drop(self.child.stdin.take());
        self.reader.join().expect("reader");
        let shown = self.seen.lock().unwrap().clone();
        (status.code(), shown)
    }
}

/// Runs `cmd` at a terminal; once it asks for confirmation, `at_prompt`
/// runs, then `answer` is typed. Returns (success, everything shown).
pub fn at_a_terminal(
    dir: &Path,
    cmd: &str,
    env: &[(&str, &str)],
    answer: &str,
    at_prompt: impl FnOnce(),
) -> (bool, String) {
    let mut t = Terminal::open(dir, cmd, env);
    t.wait_until("the prompt", |s| s.contains("Only 'yes' is accepted"));
    at_prompt();
    t.type_in(format!("{answer}\n").as_bytes());
    let (code, shown) = t.finish();
    (code == Some(0), shown)
}

/// What changes with the clock in a run's output, and what a golden file
/// holds instead: points in time, and how long until or since one. Golden
/// files then stay the same when the sandbox's clock behaves more like AWS.
pub const TIMING_FILTERS: &[(&str, &str)] = &[
    (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", "[time]"),
    (r"\(in (\d+[hms] ?)+\)", "(in [duration])"),
    (r"\d+s of \d+s", "[elapsed] of [total]"),
];

/// A golden-file assertion (insta) with [`TIMING_FILTERS`] applied.
#[macro_export]
macro_rules! golden {
    ($name:expr, $value:expr) => {
        insta::with_settings!({
            filters => $crate::harness::TIMING_FILTERS.to_vec()
        }, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

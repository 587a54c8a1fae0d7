//! Scenarios that read like the lifecycle, over the sandbox and over moto
//! alike:
//!
//! ```ignore
//! Scenario::sandbox().apply().exits(0)
//!     .release(V2).gate_fails_at(25).apply()
//!     .exits(3).traffic(100, 0).active("blue");
//! ```
//!
//! A scenario keeps the plan's knobs (image, teardown delay, extra tables),
//! writes the plan file before each run, and asserts on what the run printed
//! and on what the cloud reads back afterwards.

use crate::harness::{plan_toml, Run, SandboxEnv};

/// A cloud a scenario runs against.
pub trait Cloud {
    /// The scenario plan, made right for this cloud (its network, its pace).
    fn adapt(&self, plan: String) -> String;
    fn write_plan(&self, text: &str);
    /// `cutover ARGS… shop.toml` against this cloud.
    fn cutover(&self, args: &[&str]) -> Run;
    /// Production weights (blue, green) as the cloud reads them back.
    fn traffic(&self) -> (u32, u32);
    /// The active-colour parameter.
    fn active_colour(&self) -> Option<String>;
    /// The lock parameter and every note beside it (claims, preemption
    /// notes) that exist now.
    fn lock_parameters(&self) -> Vec<String>;
}

impl Cloud for SandboxEnv {
    fn adapt(&self, plan: String) -> String {
        plan
    }

    fn write_plan(&self, text: &str) {
        self.set_plan(text);
    }

    fn cutover(&self, args: &[&str]) -> Run {
        self.run(args)
    }

    fn traffic(&self) -> (u32, u32) {
        let w = self.weights();
        (w.blue, w.green)
    }

    fn active_colour(&self) -> Option<String> {
        self.active()
    }

    fn lock_parameters(&self) -> Vec<String> {
        self.world()
            .parameters
            .keys()
            .filter(|k| k.starts_with("/cutover/shop/active-lock"))
            .cloned()
            .collect()
    }
}

pub struct Scenario<C: Cloud> {
    pub cloud: C,
    image: String,
    teardown: String,
    manual: bool,
    extra: Vec<String>,
    edits: Vec<(String, String)>,
    last: Option<Run>,
}

pub const V1: &str = "ami-0000000000000001";
pub const V2: &str = "ami-0000000000000002";
pub const V3: &str = "ami-0000000000000003";

impl Scenario<SandboxEnv> {
    /// The shop app on a fresh sandbox (virtual clock), release V1, no
    /// teardown delay, nothing deployed yet.
    pub fn sandbox() -> Scenario<SandboxEnv> {
        Scenario::on(SandboxEnv::new(&plan_toml(V1, "0s")))
    }

    /// Images whose instances never pass their health check.
    pub fn unhealthy(self, image: &str) -> Self {
        self.cloud
            .edit(|w| w.faults.unhealthy_images.push(image.to_string()));
        self
    }

    /// The sandbox's clock moves on by `secs`.
    pub fn later(self, secs: i64) -> Self {
        self.cloud
            .edit(|w| w.settings.virtual_now_ms += secs * 1000);
        self
    }

    /// `apply`, killed right after step `n` as `kill -9` would.
    #[track_caller]
    pub fn apply_crashing_after(mut self, n: usize) -> Self {
        self.cloud.write_plan(&self.plan_text());
        let run = self.cloud.run_env(
            &["apply", "--auto-approve"],
            &[("CUTOVER_CRASH_AFTER_STEP", &n.to_string())],
        );
        assert_ne!(run.code, 0, "the crash hook aborts the process");
        self.last = Some(run);
        self
    }

    /// `shop-<color>`'s (desired capacity, instances); `None`: no such fleet.
    #[track_caller]
    pub fn fleet(self, color: &str, want: Option<(u32, usize)>) -> Self {
        assert_eq!(self.cloud.fleet(color), want, "fleet shop-{color}");
        self
    }

    /// Every instance of `shop-<color>` was launched from launch template
    /// version `v`, as its fleet is.
    #[track_caller]
    pub fn runs_version(self, color: &str, v: i64) -> Self {
        let world = self.cloud.world();
        let fleet = &world.fleets[&format!("shop-{color}")];
        assert_eq!(fleet.template_version, v, "shop-{color}'s version");
        assert!(
            fleet.instances.iter().all(|i| i.template_version == v),
            "shop-{color} runs only version {v}"
        );
        self
    }

    /// How many times the sandbox was called with `op` so far.
    pub fn calls(&self, op: &str) -> u64 {
        self.cloud.calls(op)
    }
}

impl<C: Cloud> Scenario<C> {
    pub fn on(cloud: C) -> Scenario<C> {
        Scenario {
            cloud,
            image: V1.into(),
            teardown: "0s".into(),
            manual: false,
            extra: vec![],
            edits: vec![],
            last: None,
        }
    }

    /// From now on the plan has `to` where it had `from` (a health check, a
    /// policy: what the knobs do not cover).
    pub fn edit_plan(mut self, from: &str, to: &str) -> Self {
        self.edits.push((from.to_string(), to.to_string()));
        self
    }

    /// The plan now deploys `image`.
    pub fn release(mut self, image: &str) -> Self {
        self.image = image.to_string();
        self
    }

    /// The rollback window (`teardown.delay`).
    pub fn teardown(mut self, delay: &str) -> Self {
        self.teardown = delay.to_string();
        self
    }

    /// `auto_promote = false`: a release waits for `cutover promote`.
    pub fn manual_promotion(mut self) -> Self {
        self.manual = true;
        self
    }

    /// A command gate that fails once the new colour has `pct`% or more.
    pub fn gate_fails_at(self, pct: u32) -> Self {
        self.with(&format!(
            "[[rollout.gates]]\ncommand = [\"sh\", \"-c\", \"test $CUTOVER_WEIGHT -lt {pct}\"]\n"
        ))
    }

    /// Extra TOML (tables of arrays) at the end of the plan.
    pub fn with(mut self, toml: &str) -> Self {
        self.extra.push(toml.to_string());
        self
    }

    /// The plan file as the knobs say.
    pub fn plan_text(&self) -> String {
        let mut text = plan_toml(&self.image, &self.teardown);
        if self.manual {
            text = text.replace("[rollout]\n", "[rollout]\nauto_promote = false\n");
        }
        for (from, to) in &self.edits {
            assert!(text.contains(from.as_str()), "the plan has no {from:?}");
            text = text.replace(from.as_str(), to);
        }
        for e in &self.extra {
            text.push('\n');
            text.push_str(e);
        }
        self.cloud.adapt(text)
    }

    /// `cutover ARGS… shop.toml`, with the plan written first.
    pub fn run(mut self, args: &[&str]) -> Self {
        self.cloud.write_plan(&self.plan_text());
        self.last = Some(self.cloud.cutover(args));
        self
    }

    pub fn apply(self) -> Self {
        self.run(&["apply", "--auto-approve"])
    }

    /// `cutover ARGS…` again until it exits 0, as a scheduled job would
    /// after AWS errors: every run before exits 1 or 3 (never a panic), and
    /// it succeeds within `tries`. Returns every run's exit code and why it
    /// stopped, for [`Tries::all_caused_by`].
    #[track_caller]
    pub fn until_done(mut self, args: &[&str], tries: usize) -> (Self, Tries) {
        let mut seen = Tries(Vec::new());
        for n in 1..=tries {
            self = self.run(args);
            let run = self.last();
            seen.0.push(Try {
                code: run.code,
                said: format!("{}\n{}", run.stdout, run.stderr),
            });
            match run.code {
                0 => return (self, seen),
                1 | 3 => {}
                c => panic!(
                    "run {n} of {args:?} exited {c}\n--- stdout\n{}\n--- stderr\n{}",
                    run.stdout, run.stderr
                ),
            }
        }
        panic!("{args:?} did not succeed in {tries} runs:\n{seen}");
    }

    /// The last run's result.
    pub fn last(&self) -> &Run {
        self.last
            .as_ref()
            .expect("a scenario runs cutover before asserting")
    }

    #[track_caller]
    pub fn exits(self, code: i32) -> Self {
        self.last().expect(code);
        self
    }

    /// The last run printed `text` (stdout or stderr).
    #[track_caller]
    pub fn says(self, text: &str) -> Self {
        let run = self.last();
        assert!(
            run.stdout.contains(text) || run.stderr.contains(text),
            "expected {text:?} in the output\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout,
            run.stderr
        );
        self
    }

    /// Production weights as the cloud reads them back.
    #[track_caller]
    pub fn traffic(self, blue: u32, green: u32) -> Self {
        assert_eq!(self.cloud.traffic(), (blue, green), "production weights");
        self
    }

    /// How a fault test ends: no lock and no note beside it is left, and
    /// no run took another's lock over (each run ended and released it).
    #[track_caller]
    pub fn settled(self, tries: &[&Tries]) -> Self {
        assert_eq!(
            self.cloud.lock_parameters(),
            Vec::<String>::new(),
            "left behind"
        );
        for t in tries.iter().flat_map(|t| &t.0) {
            assert!(
                !t.said.contains("taking over the lock"),
                "a run took another's lock over:\n{}",
                t.said
            );
        }
        self
    }

    /// The active-colour parameter.
    #[track_caller]
    pub fn active(self, color: &str) -> Self {
        assert_eq!(
            self.cloud.active_colour().as_deref(),
            Some(color),
            "the active colour"
        );
        self
    }
}

/// One run of [`Scenario::until_done`]: its exit code and its output.
pub struct Try {
    pub code: i32,
    pub said: String,
}

/// Every run of [`Scenario::until_done`], the last one the success.
pub struct Tries(pub Vec<Try>);

impl Tries {
    /// Every run before the last stopped because of an injected fault (its
    /// output names one of `injected`: AWS's code or message as the fault
    /// gives it), and there were at most `max` of them: a bug that passes
    /// on a second run is not hidden by the retries.
    #[track_caller]
    pub fn all_caused_by(&self, injected: &[&str], max: usize) -> usize {
        let failed = &self.0[..self.0.len() - 1];
        for (n, t) in failed.iter().enumerate() {
            assert!(
                injected.iter().any(|i| t.said.contains(i)),
                "run {} exited {} for a reason no injected fault explains ({injected:?}):\n{}",
                n + 1,
                t.code,
                t.said
            );
        }
        assert!(
            failed.len() <= max,
            "{} runs failed before one succeeded (at most {max} expected):\n{self}",
            failed.len()
        );
        failed.len()
    }
}

impl std::fmt::Display for Tries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (n, t) in self.0.iter().enumerate() {
            let why: Vec<&str> = t
                .said
                .lines()
                .filter(|l| l.contains("failed") || l.contains("error") || l.contains("aborted"))
                .take(4)
                .collect();
            writeln!(f, "run {}: exit {}: {}", n + 1, t.code, why.join(" | "))?;
        }
        Ok(())
    }
}

//! `cutover apply DIR` of many apps on the sandbox: waves, `--parallel`,
//! only the changed apps, a failure stopping what follows, a freeze holding
//! every running app, the summary and the worst exit code.

use crate::harness::{cutover, plan_toml, Run};
use cutover::model::Weights;
use cutover::provider::sandbox::{Clock, Sandbox, World};
use std::path::PathBuf;

const V1: &str = "ami-0000000000000001";
const V2: &str = "ami-0000000000000002";
const BAD: &str = "ami-00000000000000ba";

/// A folder of plan files and one sandbox for all of their apps.
struct Fleet {
    dir: tempfile::TempDir,
}

impl Fleet {
    /// `apps`: (name, wave); every app on its own load balancer, release 1;
    /// the virtual clock: nothing waits, so the apps run one after another.
    fn new(apps: &[(&str, u32)]) -> Fleet {
        let f = Fleet::empty(apps);
        f.edit(|w| w.settings.clock = Clock::Virtual);
        f
    }

    /// The real clock, 200 times faster for boots and health checks (bakes
    /// take their real seconds): apps' waits interleave, as on AWS. Set
    /// before the first run: a clock switched later would have the sandbox
    /// simulate every second in between.
    fn real(apps: &[(&str, u32)]) -> Fleet {
        let f = Fleet::empty(apps);
        f.edit(|w| {
            w.settings.clock = Clock::Real;
            w.settings.time_scale = 200.0;
        });
        f
    }

    fn empty(apps: &[(&str, u32)]) -> Fleet {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("plans")).unwrap();
        let f = Fleet { dir };
        for (app, wave) in apps {
            f.write(app, *wave, V1, "");
        }
        f
    }

    /// plans/<app>.toml: the scenario plan as `app`, in `wave`, with
    /// `extra` TOML replacing the rollout table's lines when given.
    fn write(&self, app: &str, wave: u32, image: &str, rollout: &str) {
        let mut text = plan_toml(image, "0s")
            .replace("shop", app)
            .replace(
                "deregistration_delay = \"30s\"",
                "deregistration_delay = \"1s\"",
            )
            .replace(
                &format!("name = \"{app}\"\n"),
                &format!("name = \"{app}\"\nwave = {wave}\n"),
            );
        if !rollout.is_empty() {
            text = text.replace("steps = [10, 25, 50, 100]\nbake = \"5m\"\n", rollout);
        }
        std::fs::write(self.plan(app), text).unwrap();
    }

    fn plan(&self, app: &str) -> PathBuf {
        self.dir.path().join(format!("plans/{app}.toml"))
    }

    /// A new image for `app`, its wave and rollout kept.
    fn release(&self, app: &str, image: &str) {
        let text = std::fs::read_to_string(self.plan(app)).unwrap();
        let text = text
            .lines()
            .map(|l| match l.starts_with("image_id = ") {
                true => format!("image_id = \"{image}\""),
                false => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(self.plan(app), text + "\n").unwrap();
    }

    fn sandbox(&self) -> PathBuf {
        self.dir.path().join("sandbox.json")
    }

    fn edit(&self, f: impl FnOnce(&mut World)) {
        Sandbox::open(&self.sandbox())
            .expect("sandbox")
            .with_world(f)
            .expect("save");
    }

    fn world(&self) -> World {
        serde_json::from_slice(&std::fs::read(self.sandbox()).unwrap()).unwrap()
    }

    /// `cutover ARGS… --sandbox sandbox.json` in the folder.
    fn run(&self, args: &[&str]) -> Run {
        let mut all = args.to_vec();
        all.extend(["--sandbox", "sandbox.json"]);
        cutover(&all, &[], self.dir.path())
    }

    fn spawn(&self, args: &[&str]) -> std::process::Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(args)
            .args(["--sandbox", "sandbox.json"])
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the cutover binary runs")
    }

    /// Production weights of `app` (its listener on port 80).
    fn weights(&self, app: &str) -> Weights {
        let w = self.world();
        let tg = |color: &str| {
            w.target_groups
                .iter()
                .find(|(_, t)| t.name == format!("{app}-{color}"))
                .map(|(arn, _)| arn.clone())
        };
        let (blue, green) = (tg("blue"), tg("green"));
        let mut out = Weights { blue: 0, green: 0 };
        let l = w
            .listeners
            .values()
            .find(|l| l.port == 80 && l.forward.iter().any(|(a, _)| Some(a) == blue.as_ref()));
        for (arn, weight) in l.map(|l| l.forward.clone()).unwrap_or_default() {
            if Some(&arn) == green.as_ref() {
                out.green += weight;
            } else {
                out.blue += weight;
            }
        }
        out
    }

    fn active(&self, app: &str) -> Option<String> {
        self.world()
            .parameters
            .get(&format!("/cutover/{app}/active"))
            .map(|p| p.value.clone())
    }
}

/// The summary row of `app` in a text summary.
fn row<'a>(stdout: &'a str, app: &str) -> &'a str {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("  app  "))
        .find(|l| l.trim_start().starts_with(&format!("{app} ")))
        .unwrap_or_else(|| panic!("no row for {app} in\n{stdout}"))
}

/// The most apps whose progress was under way at once, from the prefixed
/// progress lines on stderr ("app: [1/7] …").
fn most_at_once(stderr: &str, apps: &[String]) -> usize {
    let lines: Vec<&str> = stderr.lines().collect();
    let spans: Vec<(usize, usize)> = apps
        .iter()
        .filter_map(|a| {
            let prefix = format!("{a}: ");
            let first = lines.iter().position(|l| l.starts_with(&prefix))?;
            let last = lines.iter().rposition(|l| l.starts_with(&prefix))?;
            Some((first, last))
        })
        .collect();
    (0..lines.len())
        .map(|i| spans.iter().filter(|(a, b)| *a <= i && i <= *b).count())
        .max()
        .unwrap_or(0)
}

#[test]
fn twelve_apps_in_three_waves_apply_four_at_a_time_only_the_changed_ones() {
    // Waves of 6, 3 and 3 apps; app03, app07 and app11 keep their release.
    let wave = |i: usize| match i {
        0..=5 => 0,
        6..=8 => 1,
        _ => 2,
    };
    let apps: Vec<(String, u32)> = (0..12).map(|i| (format!("app{i:02}"), wave(i))).collect();
    let named: Vec<(&str, u32)> = apps.iter().map(|(a, w)| (a.as_str(), *w)).collect();
    let f = Fleet::real(&named);
    let first = f.run(&["apply", "plans", "--auto-approve"]);
    first.expect(0).prints(&["12 apps: 12 deployed"]);
    // Nine new releases, three apps unchanged; short bakes on the real clock.
    let rollout = "steps = [50, 100]\nbake = \"1s\"\n";
    for (i, (app, wave)) in apps.iter().enumerate() {
        f.write(app, *wave, if i % 4 == 3 { V1 } else { V2 }, rollout);
    }
    let order = "Apply order:\n  wave 0: app00, app01, app02, app04, app05\n  wave 1: app06, app08\n  wave 2: app09, app10\n  no changes: app03, app07, app11";
    f.run(&["plan", "plans"]).expect(0).prints(&[order]);
    let r = f.run(&["apply", "plans", "--auto-approve", "--parallel", "4"]);
    // The same order `plan` showed.
    r.expect(0)
        .prints(&["12 apps: 9 deployed, 3 no changes", order]);
    for (i, (app, _)) in apps.iter().enumerate() {
        let line = row(&r.stdout, app);
        if i % 4 == 3 {
            assert!(line.contains("no changes"), "{line}");
            assert_eq!(f.active(app).as_deref(), Some("blue"));
        } else {
            assert!(line.contains(&format!("{V1} → {V2}")), "{line}");
            assert!(line.contains("deployed"), "{line}");
            assert_eq!(f.active(app).as_deref(), Some("green"), "{app}");
            assert_eq!(
                f.weights(app),
                Weights {
                    blue: 0,
                    green: 100
                }
            );
        }
    }
    // Waves in order: every app of a wave finished before one of the next began.
    let first_line = |app: &str| r.stderr.find(&format!("{app}: [1/")).unwrap();
    let last_line = |app: &str| r.stderr.rfind(&format!("{app}: ")).unwrap();
    for (a, b) in [("app05", "app06"), ("app00", "app06"), ("app08", "app09")] {
        assert!(
            last_line(a) < first_line(b),
            "{a} before {b}:\n{}",
            r.stderr
        );
    }
    // Five changed apps in wave 0: four at once, never more.
    let names: Vec<String> = apps.iter().map(|(a, _)| a.clone()).collect();
    assert_eq!(most_at_once(&r.stderr, &names), 4, "{}", r.stderr);
    let again = f.run(&["apply", "plans", "--auto-approve", "--parallel", "2"]);
    again.expect(0).prints(&["12 apps: 12 no changes"]);
}

#[test]
fn a_failing_app_in_wave_1_stops_wave_2_and_the_summary_says_so() {
    let f = Fleet::new(&[("api", 1), ("web", 1), ("pay", 2), ("cart", 2)]);
    f.run(&["apply", "plans", "--auto-approve"]).expect(0);
    for app in ["api", "web", "pay", "cart"] {
        f.release(app, V2);
    }
    // api's new release never turns healthy.
    f.release("api", BAD);
    f.edit(|w| w.faults.unhealthy_images = vec![BAD.to_string()]);
    let r = f.run(&["apply", "plans", "--auto-approve", "--parallel", "1"]);
    // api rolled back (3): the worst of the apps' exits.
    r.expect(3);
    let api = row(&r.stdout, "api");
    assert!(api.contains("rolled back") && api.contains("blue"), "{api}");
    // One at a time: once api failed, web (same wave) did not start, nor wave 2.
    for app in ["web", "pay", "cart"] {
        assert!(row(&r.stdout, app).contains("not started"), "{}", r.stdout);
        assert_eq!(f.active(app).as_deref(), Some("blue"));
        assert_eq!(
            f.weights(app),
            Weights {
                blue: 100,
                green: 0
            }
        );
        assert!(!r.stderr.contains(&format!("{app}: [1/")), "{}", r.stderr);
    }
    r.prints(&[
        "4 apps: 1 rolled back, 3 not started",
        "pay (plans/pay.toml): not started: api (plans/api.toml) rolled back in wave 1",
    ]);
    assert_eq!(
        f.weights("api"),
        Weights {
            blue: 100,
            green: 0
        }
    );
    // api's release is remembered as rolled back: the next fleet apply
    // leaves it alone (`--retry` deploys it again) and deploys the rest.
    // JSON for CI, on stdout; plans and progress on stderr.
    let json = f.run(&["apply", "plans", "--auto-approve", "--format", "json"]);
    json.expect(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect(&json.stdout);
    assert_eq!(v["exit_code"], 0);
    let apps = v["apps"].as_array().unwrap();
    let of = |app: &str| apps.iter().find(|r| r["app"] == app).unwrap().clone();
    for app in ["web", "pay", "cart"] {
        assert_eq!(of(app)["result"], "deployed", "{v}");
        assert_eq!(f.active(app).as_deref(), Some("green"));
    }
    assert_eq!(of("api")["result"], "no_changes");
    assert!(
        of("api")["detail"].as_str().unwrap().contains("--retry"),
        "{v}"
    );
    assert_eq!(f.active("api").as_deref(), Some("blue"));
    // Markdown, for a CI job summary.
    let md = f.run(&["apply", "plans", "--auto-approve", "--format", "markdown"]);
    md.expect(0).prints(&[
        "### cutover apply: 4 apps: 4 no changes",
        "| app | wave | from → to | result | time | rolled back to | note |",
        "| `web` | 1 |",
    ]);
    assert!(
        !md.stdout.contains("Steps:"),
        "plans go to stderr\n{}",
        md.stdout
    );
}

#[test]
fn a_freeze_holds_every_running_app_and_thaw_lets_apply_continue() {
    let apps = ["north", "south", "east"];
    let f = Fleet::real(&apps.map(|a| (a, 0)));
    f.run(&["apply", "plans", "--auto-approve"]).expect(0);
    for app in apps {
        f.write(app, 0, V2, "steps = [10, 50, 100]\nbake = \"3s\"\n");
    }
    let apply = f.spawn(&["apply", "plans", "--auto-approve"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while apps.iter().any(|a| f.weights(a).green == 0) {
        assert!(std::time::Instant::now() < deadline, "never shifted");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    f.run(&["freeze", "--reason", "INC-9: region failover"])
        .expect(0);
    let out = apply.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("3 apps: 3 held"), "{stdout}");
    assert!(stdout.contains("INC-9: region failover"), "{stdout}");
    for app in apps {
        let w = f.weights(app);
        assert!(
            w.green > 0 && w.green < 100,
            "{app} held mid-rollout: {w:?}"
        );
        assert_eq!(f.active(app).as_deref(), Some("blue"));
    }
    // Frozen: a fleet apply starts nothing and says why.
    let refused = f.run(&["apply", "plans", "--auto-approve"]);
    refused.expect(1).prints(&["3 apps: 3 refused"]);
    refused.shows(&["every app in this account and region is frozen"]);
    f.run(&["thaw"]).expect(0);
    f.run(&["apply", "plans", "--auto-approve"])
        .expect(0)
        .prints(&["3 apps: 3 deployed"]);
    for app in apps {
        assert_eq!(
            f.weights(app),
            Weights {
                blue: 0,
                green: 100
            }
        );
    }
}

#[test]
fn a_fleet_with_a_broken_plan_applies_nothing_and_says_where() {
    let f = Fleet::new(&[("api", 0), ("web", 0)]);
    let text = std::fs::read_to_string(f.plan("web")).unwrap();
    std::fs::write(f.plan("web"), text.replace("wave = 0", "wave = -1")).unwrap();
    let r = f.run(&["apply", "plans", "--auto-approve"]);
    r.expect(1)
        .shows(&["plans/web.toml:3:8", "nothing was applied"]);
    assert!(f.active("api").is_none(), "api was not deployed either");
    // Two plan files for one app would fight over it.
    std::fs::write(f.plan("web"), text).unwrap();
    std::fs::copy(f.plan("api"), f.dir.path().join("plans/api-copy.toml")).unwrap();
    f.run(&["apply", "plans", "--auto-approve"])
        .expect(1)
        .shows(&["both deploy app api", "nothing was applied"]);
}

#[test]
fn a_release_paused_for_promote_has_not_finished_so_the_next_wave_waits() {
    let f = Fleet::new(&[("stage", 0), ("prod", 1)]);
    f.run(&["apply", "plans", "--auto-approve"]).expect(0);
    f.write(
        "stage",
        0,
        V2,
        "steps = [10, 25, 50, 100]\nbake = \"5m\"\nauto_promote = false\n",
    );
    f.release("prod", V2);
    let r = f.run(&["apply", "plans", "--auto-approve"]);
    r.expect(0).prints(&[
        "2 apps: 1 paused for promote, 1 not started",
        "prod (plans/prod.toml): not started: stage (plans/stage.toml) paused for promote in wave 0",
    ]);
    assert_eq!(
        f.weights("prod"),
        Weights {
            blue: 100,
            green: 0
        }
    );
}

#[test]
fn two_apps_that_would_take_one_listener_are_refused_before_anything_starts() {
    let f = Fleet::new(&[("api", 0), ("web", 0)]);
    // Both on one load balancer's :80, neither with a rule.
    let web = std::fs::read_to_string(f.plan("web")).unwrap();
    std::fs::write(f.plan("web"), web.replace("web-alb", "api-alb")).unwrap();
    let r = f.run(&["apply", "plans", "--auto-approve", "--format", "json"]);
    r.expect(1).shows(&[
        "both use listener :80 of api-alb",
        "give each app a `rule` there",
    ]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect(&r.stdout);
    assert_eq!(v["exit_code"], 1);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("nothing was applied: "),
        "{v}"
    );
    assert!(f.active("api").is_none() && f.active("web").is_none());
}

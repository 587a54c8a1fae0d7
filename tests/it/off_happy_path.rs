//! Safe off the happy path: what cutover says is where production is, a
//! failing old colour is not blamed on the new release, and no mistake in
//! the plan becomes a verdict. Each test is a behaviour a person met in
//! production, on the sandbox (virtual clock).

use crate::harness::SandboxEnv;
use crate::scenario::{Scenario, V1, V2};

/// V1 live on blue.
fn deployed() -> Scenario<SandboxEnv> {
    Scenario::sandbox().apply().exits(0).traffic(100, 0)
}

/// Writes named as the sandbox's `faults.lost` names them are carried out
/// and their answer lost, every time.
fn lose_answers(s: Scenario<SandboxEnv>, calls: &[&str]) -> Scenario<SandboxEnv> {
    s.cloud
        .edit(|w| w.faults.lost.extend(calls.iter().map(|c| c.to_string())));
    s
}

use crate::sandbox::{blue_loses_targets, Lost};

/// Auto Scaling gave blue its targets back.
fn heal(s: &Scenario<SandboxEnv>, lost: Lost) {
    s.cloud.edit(|w| {
        let tg = w
            .target_groups
            .values_mut()
            .find(|t| t.name == "shop-blue")
            .unwrap();
        for (id, t) in lost {
            tg.targets.insert(id, serde_json::from_value(t).unwrap());
        }
    });
}

// 1. A lost answer at the end of a release.

#[test]
fn a_promotion_whose_answer_is_lost_is_read_back_and_the_release_is_live() {
    let s = lose_answers(deployed(), &["PutParameter /cutover/shop/active"])
        .release(V2)
        .apply()
        .exits(0)
        .says("the answer was lost; read back")
        .says("green is live with release")
        .traffic(0, 100)
        .active("green");
    s.cloud.edit(|w| w.faults.lost.clear());
    s.run(&["plan", "--detailed-exitcode"]).exits(0);
}

#[test]
fn a_way_home_whose_answers_are_lost_is_read_back_and_exit_3_is_the_truth() {
    // Every listener write is carried out and its answer lost; weights also
    // read back stale for 10 s after a change: the shift goes on, the gate
    // fails at 25%, production goes home, and exit 3 says so truthfully.
    let s = lose_answers(deployed(), &["ModifyListener"]);
    s.cloud.edit(|w| w.faults.stale_read_secs = 10);
    s.release(V2)
        .gate_fails_at(25)
        .apply()
        .exits(3)
        .says("rolled back to blue in one call; now 100% blue.")
        .says("blue stays the active colour")
        .traffic(100, 0)
        .active("blue");
}

#[test]
fn a_shift_step_whose_answer_is_lost_and_never_shows_goes_home_from_where_production_is() {
    // The step to 10% lands with its answer lost; then every listener
    // write is refused: the way home must not believe production never
    // left blue (it is at 90/10), and exit 3 may only say home when it is.
    let s = lose_answers(deployed(), &["ModifyListener"])
        .release(V2)
        .gate_fails_at(10);
    let s = s.apply().exits(3).traffic(100, 0).active("blue");
    assert!(
        !s.last().stdout.contains("unchanged"),
        "{}",
        s.last().stdout
    );
}

// 2. The old colour failing mid-shift.

#[test]
fn the_old_colour_losing_a_target_holds_the_split_and_blames_nobody() {
    let s = deployed();
    let lost = blue_loses_targets(&s, 1);
    let s = s
        .release(V2)
        .apply()
        .exits(1)
        .says("blue, the colour production came from, lost health during the bake at 10%: 1 of 2 targets healthy")
        .says("held at 90% blue / 10% green: nothing moved forward, and nothing moved onto blue")
        .says("This is not a verdict on release")
        .traffic(90, 10)
        .active("blue");
    // Nothing remembered: once blue is whole again a plain apply resumes.
    heal(&s, lost);
    s.apply()
        .exits(0)
        .says("resume the shift from blue to green at 10%")
        .traffic(0, 100)
        .active("green");
}

#[test]
fn the_old_colour_with_no_healthy_target_sends_production_to_the_healthy_new_one() {
    let s = deployed();
    blue_loses_targets(&s, 2);
    s.release(V2)
        .apply()
        .exits(1)
        .says("blue has no healthy target left, so production went to green")
        .says("green is not recorded as active: its bakes are not done")
        .traffic(0, 100)
        .active("blue")
        .run(&["status"])
        .exits(0)
        .says("production is all on green, not yet promoted; blue is still the active colour")
        // A plain apply (no --retry) bakes at 100% and promotes.
        .apply()
        .exits(0)
        .says("resume the shift from blue to green at 100%")
        .traffic(0, 100)
        .active("green");
}

// 8. A mistake in the plan is not a verdict.

#[test]
fn a_smoke_test_that_cannot_start_is_the_plans_mistake_not_a_verdict() {
    deployed()
        .release(V2)
        .with("[[rollout.smoke]]\ncommand = [\"./no-such-smoke-test.sh\"]\n")
        .apply()
        .exits(3)
        .says("could not be carried out as the plan file writes it")
        .says("This is not a verdict on release")
        .traffic(100, 0)
        .active("blue")
        // Not remembered as rolled back: the next plan deploys it again.
        .run(&["plan"])
        .exits(0)
        .says("blue-green: build green");
}

/// "now 90% blue / 10% green", as the summary words production.
fn worded(blue: u32, green: u32) -> String {
    match (blue, green) {
        (100, 0) => "100% blue".into(),
        (0, 100) => "100% green".into(),
        (b, g) => format!("{b}% blue / {g}% green"),
    }
}

/// What a run said of production and the active colour is what the sandbox
/// holds: exit 0 is the release live, 3 is home with the active colour
/// naming it, 1 names where production is.
#[track_caller]
fn told_the_truth(s: &Scenario<SandboxEnv>, context: &str) {
    let run = s.last();
    let (blue, green) = crate::scenario::Cloud::traffic(&s.cloud);
    let active = s.cloud.active();
    let said = format!(
        "{context}: exit {}\n{}\n{}",
        run.code, run.stdout, run.stderr
    );
    match run.code {
        0 => assert_eq!(
            ((blue, green), active.as_deref()),
            ((0, 100), Some("green")),
            "{said}"
        ),
        3 => assert_eq!(
            ((blue, green), active.as_deref()),
            ((100, 0), Some("blue")),
            "{said}"
        ),
        1 => assert!(
            run.stdout.contains(&format!("now {}", worded(blue, green)))
                || run
                    .stdout
                    .contains(&format!("held at {}", worded(blue, green)))
                || run.stdout.contains("UNKNOWN"),
            "production is {blue}/{green}: {said}"
        ),
        c => panic!("exit {c}: {said}"),
    }
}

// 1, swept: lost answers over many seeds.

#[test]
fn lost_answers_over_many_seeds_never_make_a_false_report_or_brand_the_old_release() {
    let mut exits = std::collections::BTreeMap::new();
    for rate in [0.1, 0.3] {
        for seed in 1..=25 {
            let context = format!("lost_rate {rate}, seed {seed}");
            let s = deployed().edit_plan("bake = \"5m\"", "bake = \"10s\"");
            s.cloud.edit(|w| {
                w.faults.lost_rate = rate;
                w.faults.stale_read_secs = 5;
                w.faults.seed = seed;
            });
            let s = s.release(V2).apply();
            told_the_truth(&s, &context);
            *exits.entry((rate.to_string(), s.last().code)).or_insert(0) += 1;
            s.cloud.edit(|w| w.faults.lost_rate = 0.0);
            let s = s.later(60).apply();
            assert_eq!(
                s.last().code,
                0,
                "{context}: the clean apply\n{}",
                s.last().stdout
            );
            let s = s.traffic(0, 100).active("green");
            let world = s.cloud.world();
            for (name, fleet) in &world.fleets {
                assert!(
                    !fleet.tags.contains_key("cutover:rolled-back"),
                    "{context}: {name} is branded rolled back"
                );
            }
        }
    }
    // The exits seen, (lost_rate, exit code) → runs: every kind is a
    // truthful report, checked above.
    eprintln!("{exits:?}");
}

// 5. Stale reads.

#[test]
fn reads_that_lag_writes_by_the_documented_stale_read_secs_do_not_stop_a_release() {
    for secs in [10, 30, 100] {
        let s = deployed();
        s.cloud.edit(|w| w.faults.stale_read_secs = secs);
        s.release(V2)
            .apply()
            .exits(0)
            .traffic(0, 100)
            .active("green");
    }
}

// 7. The sandbox refuses what is not a sandbox, and keeps regions apart.

#[test]
fn a_file_that_is_not_a_sandbox_is_refused_and_left_untouched() {
    let env = SandboxEnv::new(&crate::harness::plan_toml(V2, "0s"));
    let package = env.dir.path().join("package.json");
    let text = "{\n  \"name\": \"shop-frontend\",\n  \"version\": \"1.0.0\"\n}\n";
    for file in [text, "", "[1, 2]"] {
        std::fs::write(&package, file).unwrap();
        let run = crate::harness::cutover(
            &["status", "shop.toml", "--sandbox", "package.json"],
            &[],
            env.dir.path(),
        );
        run.expect(1);
        assert!(
            run.stderr
                .contains("package.json is not a cutover sandbox file")
                && run.stderr.contains("left untouched"),
            "{}",
            run.stderr
        );
        assert_eq!(std::fs::read_to_string(&package).unwrap(), file);
    }
}

#[test]
fn each_region_has_its_own_sandbox_beside_the_file() {
    let s = deployed();
    let eu = crate::harness::plan_toml(V2, "0s").replace(
        "name = \"shop\"\n",
        "name = \"shop\"\nregion = \"eu-west-1\"\n",
    );
    std::fs::write(s.cloud.dir.path().join("eu.toml"), eu).unwrap();
    let run = crate::harness::cutover(
        &["plan", "eu.toml", "--sandbox", "sandbox.json"],
        &[],
        s.cloud.dir.path(),
    );
    run.expect(0);
    // The app in eu-west-1 is not deployed there: a first deploy, in a file
    // of its own; us-east-1's shop is as it was.
    assert!(run.stdout.contains("First deploy"), "{}", run.stdout);
    assert!(s.cloud.dir.path().join("sandbox.eu-west-1.json").exists());
    s.traffic(100, 0)
        .run(&["plan", "--detailed-exitcode"])
        .exits(0);
}

// 9. drift sees what a killed run left.

#[test]
fn drift_flags_a_split_left_by_a_killed_run_whose_lock_remains() {
    let s = deployed()
        .release(V2)
        .apply_crashing_after(7)
        .run(&["drift"])
        .exits(2)
        .says("a release stopped at 25% on green, blue still active")
        .says("which is gone")
        .run(&["status"])
        .exits(0)
        .says("which is gone");
    // The next apply takes the dead run's lock over and finishes.
    s.apply().exits(0).traffic(0, 100).run(&["drift"]).exits(0);
}

// 10. Marks that tell the truth.

#[test]
fn a_verdict_is_drift_and_plan_says_the_release_is_not_live_until_a_retry_clears_it() {
    // The gate fails at 25% while the file gate-fails exists.
    let s = deployed().release(V2).with(
        "[[rollout.gates]]\ncommand = [\"sh\", \"-c\", \"test ! -e gate-fails || test $CUTOVER_WEIGHT -lt 25\"]\n",
    );
    let flag = s.cloud.dir.path().join("gate-fails");
    std::fs::write(&flag, "").unwrap();
    let s = s
        .apply()
        .exits(3)
        .run(&["plan", "--detailed-exitcode"])
        .exits(0)
        .says("No changes to apply. The plan's release")
        .says("is not live: it was rolled back at")
        .says("(gate failed on green at 25%")
        .says("`cutover apply --retry` deploys it again")
        .apply()
        .exits(0)
        .says("is not live: it was rolled back at")
        .run(&["drift"])
        .exits(2)
        .says("is not live: it was rolled back at");
    // The gate passes now: --retry promotes it, and the mark goes.
    std::fs::remove_file(&flag).unwrap();
    let s = s
        .run(&["apply", "--auto-approve", "--retry"])
        .exits(0)
        .says("forget that the release on shop-green was rolled back")
        .traffic(0, 100)
        .active("green");
    assert!(
        !s.cloud.world().fleets["shop-green"]
            .tags
            .contains_key("cutover:rolled-back"),
        "the live release is still marked rolled back"
    );
    s.run(&["status"])
        .exits(0)
        .run(&["drift"])
        .exits(0)
        .run(&["plan", "--detailed-exitcode"])
        .exits(0)
        .says("matches the plan file");
}

// 6. Saved plans are checked, not trusted.

/// `cutover apply saved.json` beside the scenario's plan.
fn apply_saved(s: &Scenario<SandboxEnv>) -> crate::harness::Run {
    let args = [
        "apply",
        "saved.json",
        "--auto-approve",
        "--sandbox",
        "sandbox.json",
    ];
    crate::harness::cutover(&args, &[], s.cloud.dir.path())
}

#[test]
fn a_saved_plan_edited_after_it_was_made_is_refused_naming_the_difference() {
    let s = deployed()
        .release(V2)
        .run(&["plan", "--out", "saved.json"])
        .exits(0);
    let path = s.cloud.dir.path().join("saved.json");
    let text = std::fs::read_to_string(&path).unwrap();
    // Another image in the steps, under the release's fingerprint.
    let edited = text.replace(
        "\"image_id\": \"ami-0000000000000002\"",
        "\"image_id\": \"ami-0000000000000666\"",
    );
    assert_ne!(edited, text, "the saved plan names the image");
    std::fs::write(&path, &edited).unwrap();
    let run = apply_saved(&s);
    run.expect(1);
    assert!(
        run.stderr.contains("saved.json is refused")
            && run.stderr.contains("it was edited after it was made")
            && run.stderr.contains("ami-0000000000000666"),
        "{}",
        run.stderr
    );
    // Nothing was made: production and the fleets are as they were.
    let s = s.traffic(100, 0).fleet("green", None);
    // Another app's saved plan text with this one's steps.
    std::fs::write(
        &path,
        text.replace("name = \\\"shop\\\"", "name = \\\"cart\\\""),
    )
    .unwrap();
    let run = apply_saved(&s);
    run.expect(1);
    assert!(
        run.stderr.contains("the saved plan is for app \"shop\", but the plan file saved with it is for app \"cart\""),
        "{}",
        run.stderr
    );
    // The file as saved applies.
    std::fs::write(&path, &text).unwrap();
    let run = apply_saved(&s);
    run.expect(0);
    s.traffic(0, 100).active("green");
}

// 3. No app takes another app's listener.

/// `port`'s forward on the sandbox, as (blue, green) of shop's colours.
fn weights_on(s: &Scenario<SandboxEnv>, port: u16) -> (u32, u32) {
    let w = s.cloud.world();
    let l = w
        .listeners
        .values()
        .find(|l| l.port == port)
        .expect("listener");
    let mut out = (0, 0);
    for (arn, weight) in &l.forward {
        match w.target_groups[arn].name.as_str() {
            "shop-blue" => out.0 += weight,
            "shop-green" => out.1 += weight,
            other => panic!("listener :{port} forwards to {other}"),
        }
    }
    out
}

/// `cutover ARGS… FILE --sandbox sandbox.json` for another plan file beside shop.toml.
fn other_plan(
    s: &Scenario<SandboxEnv>,
    file: &str,
    text: &str,
    args: &[&str],
) -> crate::harness::Run {
    std::fs::write(s.cloud.dir.path().join(file), text).unwrap();
    let mut all = args.to_vec();
    all.extend([file, "--sandbox", "sandbox.json"]);
    crate::harness::cutover(&all, &[], s.cloud.dir.path())
}

#[test]
fn another_app_naming_the_same_listener_is_refused_before_anything_is_made() {
    let s = deployed();
    // A second app (or shop renamed) on the same load balancer and ports.
    let cart = s
        .plan_text()
        .replace("name = \"shop\"\n", "name = \"cart\"\n");
    for (args, code) in [
        (&["plan"][..], 1),
        (&["apply", "--auto-approve"], 1),
        (&["drift"], 2),
    ] {
        let run = other_plan(&s, "cart.toml", &cart, args);
        run.expect(code);
        assert!(
            run.stderr.contains("the listener on port 80 of load balancer \"shop-alb\" belongs to app \"shop\" (its cutover:app tag)")
                || run.stdout.contains("belongs to app \"shop\""),
            "{args:?}: {}\n{}",
            run.stdout,
            run.stderr
        );
    }
    // Nothing of cart's was made; shop's production is as it was.
    let world = s.cloud.world();
    assert!(world
        .target_groups
        .values()
        .all(|t| !t.name.starts_with("cart")));
    assert!(world.fleets.keys().all(|n| !n.starts_with("cart")));
    s.traffic(100, 0).run(&["drift"]).exits(0);
}

#[test]
fn dropping_a_rule_never_takes_the_listener_its_owner_made() {
    let rule = "role = \"production\"\nrule = { priority = 100, hosts = [\"shop.example.com\"] }\n";
    let s = Scenario::sandbox()
        .edit_plan("role = \"production\"\n", rule)
        .apply()
        .exits(0);
    // The plan drops the rule: every host on the listener would go to shop.
    let dropped = s.plan_text().replace(rule, "role = \"production\"\n");
    let run = other_plan(&s, "shop.toml", &dropped, &["apply", "--auto-approve"]);
    run.expect(1);
    assert!(
        run.stderr
            .contains("belongs to someone else: it answers with an action that is not a forward"),
        "{}",
        run.stderr
    );
    let world = s.cloud.world();
    let listener = world.listeners.values().find(|l| l.port == 80).unwrap();
    assert!(
        listener.forward.is_empty(),
        "the owner's listener still answers as it did"
    );
}

#[test]
fn a_listener_made_before_tags_is_tagged_in_place_and_nothing_else_moves() {
    let s = deployed();
    // As cutover made listeners before it tagged them.
    s.cloud.edit(|w| {
        for l in w.listeners.values_mut() {
            l.tags.clear();
        }
    });
    let s = s
        .run(&["plan", "--detailed-exitcode"])
        .exits(2)
        .says("~ listener :80 (production)  (tag listener :80: it forwards only to shop's target groups and has no tags yet)")
        .says("tag cutover:app: (none) → shop");
    let s = s.apply().exits(0).traffic(100, 0);
    let world = s.cloud.world();
    for l in world.listeners.values() {
        assert_eq!(l.tags.get("cutover:app").map(String::as_str), Some("shop"));
    }
    s.run(&["plan", "--detailed-exitcode"]).exits(0);
}

// 4. A listener the plan stops naming is shown and removed.

#[test]
fn a_production_port_change_removes_the_old_listener_and_nothing_is_stranded() {
    let s = deployed().edit_plan("port = 80\n", "port = 81\n");
    let s = s
        .run(&["drift"])
        .exits(2)
        .says("listener :80 (not in the plan file): exists, and the plan file no longer names it; it forwards 100% blue")
        .run(&["plan"])
        .exits(0)
        .says("- listener :80 (not in the plan file)")
        .apply()
        .exits(0);
    assert_eq!(weights_on(&s, 81), (100, 0));
    let world = s.cloud.world();
    assert!(
        world.listeners.values().all(|l| l.port != 80),
        "the old listener is gone"
    );
    // A release on the new port goes the whole way, and its teardown
    // leaves no listener forwarding to an empty colour.
    let s = s.release(V2).apply().exits(0);
    assert_eq!(weights_on(&s, 81), (0, 100));
    s.run(&["drift"]).exits(0);
}

#[test]
fn a_teardown_never_empties_a_colour_that_another_listener_still_weights() {
    let s = deployed().teardown("0s");
    // Someone's listener on :9000 sends everything to shop-blue.
    s.cloud.edit(|w| {
        let (lb, tg) = {
            let l = w.listeners.values().find(|l| l.port == 80).unwrap();
            (l.load_balancer_arn.clone(), l.forward[0].0.clone())
        };
        let mut l = w.listeners.values().find(|l| l.port == 80).unwrap().clone();
        l.port = 9000;
        l.load_balancer_arn = lb;
        l.forward = vec![(tg, 1)];
        l.tags = [("cutover:app".to_string(), "reports".to_string())].into();
        w.listeners.insert("arn:listener/9000".into(), l);
    });
    s.release(V2)
        .apply()
        .exits(1)
        .says("refusing to shrink blue: listener :9000 still sends it 100%")
        .traffic(0, 100)
        .active("green")
        .fleet("blue", Some((2, 2)));
}

// 11. Listener roles are recorded; a swap is a change.

/// The plan with :80 as the test listener and :8080 as production.
fn swap_roles(plan: &str) -> String {
    plan.replace(
        "port = 80\nprotocol = \"HTTP\"\nrole = \"production\"",
        "port = 80\nprotocol = \"HTTP\"\nrole = \"@test\"",
    )
    .replace(
        "port = 8080\nprotocol = \"HTTP\"\nrole = \"test\"",
        "port = 8080\nprotocol = \"HTTP\"\nrole = \"production\"",
    )
    .replace("@test", "test")
}

#[test]
fn swapping_the_production_and_test_ports_is_a_change_and_production_never_meets_an_unverified_colour(
) {
    let s = deployed();
    let swapped = swap_roles(&s.plan_text());
    assert_ne!(swapped, s.plan_text());
    let run = other_plan(&s, "shop.toml", &swapped, &["plan", "--detailed-exitcode"]);
    run.expect(2);
    assert!(
        run.stdout.contains("role: production → test")
            && run.stdout.contains("role: test → production"),
        "{}",
        run.stdout
    );
    other_plan(&s, "shop.toml", &swapped, &["apply", "--auto-approve"]).expect(0);
    // :8080 serves production now, with production's weights.
    assert_eq!(weights_on(&s, 8080), (100, 0));
    let run = other_plan(&s, "shop.toml", &swapped, &["plan", "--detailed-exitcode"]);
    run.expect(0);
    // The next release tests on :80 and shifts :8080 step by step.
    let v2 = swapped.replace(V1, V2);
    let run = other_plan(&s, "shop.toml", &v2, &["plan"]);
    assert!(
        run.stdout
            .contains("4. listener :80 (test) forwards 100% green"),
        "{}",
        run.stdout
    );
    // Stopped right after the test listener moved: production has not.
    let run = crate::harness::cutover(
        &[
            "apply",
            "--auto-approve",
            "shop.toml",
            "--sandbox",
            "sandbox.json",
        ],
        &[("CUTOVER_CRASH_AFTER_STEP", "4")],
        s.cloud.dir.path(),
    );
    assert_ne!(run.code, 0);
    assert_eq!(
        (weights_on(&s, 80), weights_on(&s, 8080)),
        ((0, 100), (100, 0))
    );
    other_plan(&s, "shop.toml", &v2, &["apply", "--auto-approve"]).expect(0);
    assert_eq!(weights_on(&s, 8080), (0, 100));
}

// Rough edges.

#[test]
fn a_health_check_change_travelling_with_a_release_says_it_reaches_the_serving_colour_first() {
    deployed()
        .release(V2)
        .edit_plan("path = \"/health\"", "path = \"/ready\"")
        .run(&["plan"])
        .exits(0)
        .says("the health-check change applies to blue, which serves production, before the new release is tested");
}

#[test]
fn a_smoke_test_that_times_out_ends_with_everything_it_started() {
    // A script that leaves a child behind, and never finishes in time.
    let marker = format!("sleep 30{}", std::process::id() % 1000 + 100);
    let s = deployed().release(V2).with(&format!(
        "[[rollout.smoke]]\ncommand = [\"sh\", \"-c\", \"{marker} & {marker}\"]\ntimeout = \"1s\"\n"
    ));
    s.apply()
        .exits(3)
        .says("did not finish within 1s")
        .traffic(100, 0);
    let left = std::process::Command::new("pgrep")
        .args(["-f", &marker])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "{marker} still runs: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

// Found by an adversary after the first round.

#[test]
fn a_port_change_never_deletes_a_listener_that_serves_another_apps_rule() {
    let s = deployed();
    // cart's rule on shop's production listener.
    s.cloud.edit(|w| {
        let (arn, tg) = {
            let (arn, l) = w.listeners.iter().find(|(_, l)| l.port == 80).unwrap();
            (arn.clone(), l.forward[0].0.clone())
        };
        w.rules.insert(
            format!("{arn}/rule/cart"),
            cutover::provider::sandbox::SbRule {
                listener_arn: arn,
                rule: serde_json::from_value(
                    serde_json::json!({"priority": 100, "hosts": ["cart.example.com"]}),
                )
                .unwrap(),
                forward: vec![(tg, 1)],
                affinity_secs: 0,
                tags: [("cutover:app".to_string(), "cart".to_string())].into(),
                kept_actions: vec![],
            },
        );
    });
    let s = s
        .edit_plan("port = 80\n", "port = 81\n")
        .apply()
        .exits(1)
        .says("the listener on port 80, which the plan file no longer names, also holds app \"cart\"'s rule 100");
    let world = s.cloud.world();
    assert!(world.listeners.values().any(|l| l.port == 80));
    assert_eq!(world.rules.len(), 1, "cart's rule is still there");
    assert!(
        world.listeners.values().all(|l| l.port != 81),
        "nothing was made"
    );
}

#[test]
fn a_role_swap_that_travels_with_a_release_says_the_release_comes_next() {
    let s = deployed();
    let swapped = swap_roles(&s.plan_text()).replace(V1, V2);
    let run = other_plan(&s, "shop.toml", &swapped, &["apply", "--auto-approve"]);
    run.expect(0);
    assert!(
        run.stdout.contains("the listener roles are swapped; run `cutover apply shop.toml` again for the rest of the plan file")
            && !run.stdout.contains("matches the plan file"),
        "{}",
        run.stdout
    );
    other_plan(&s, "shop.toml", &swapped, &["plan", "--detailed-exitcode"]).expect(2);
    other_plan(&s, "shop.toml", &swapped, &["apply", "--auto-approve"]).expect(0);
    assert_eq!(weights_on(&s, 8080), (0, 100));
}

#[test]
fn drift_flags_a_release_built_by_a_run_killed_before_production_moved() {
    deployed()
        .release(V2)
        .apply_crashing_after(4)
        .run(&["drift"])
        .exits(2)
        .says("a release built on green with no production traffic yet, blue still active")
        .says("which is gone");
}

#[test]
fn drift_flags_a_lock_left_by_a_run_killed_after_promotion() {
    deployed()
        .teardown("1h")
        .release(V2)
        .apply_crashing_after(14)
        .traffic(0, 100)
        .active("green")
        .run(&["drift"])
        .exits(2)
        .says("the lock was left by")
        .says("which is gone");
}

#[test]
fn rollbacks_on_a_bad_day_say_where_production_is() {
    let mut exits = std::collections::BTreeMap::new();
    for seed in 1..=40 {
        let s = Scenario::sandbox()
            .teardown("30m")
            .apply()
            .exits(0)
            .release(V2)
            .apply()
            .exits(0);
        s.cloud.edit(|w| {
            w.faults.lost_rate = 0.2;
            w.faults.throttle_rate = 0.1;
            w.faults.error_rate = 0.1;
            w.faults.seed = seed;
        });
        let s = s.run(&["rollback"]);
        let run = s.last();
        let (traffic, active) = (crate::scenario::Cloud::traffic(&s.cloud), s.cloud.active());
        let said = format!(
            "seed {seed}: exit {}\n{}\n{}",
            run.code, run.stdout, run.stderr
        );
        *exits.entry(run.code).or_insert(0) += 1;
        match run.code {
            0 => assert_eq!(
                (traffic, active.as_deref()),
                ((100, 0), Some("blue")),
                "{said}"
            ),
            1 if run.stderr.contains("production is unchanged") => {
                assert_eq!(traffic, (0, 100), "{said}")
            }
            1 if run
                .stderr
                .contains("traffic is on blue but recording it as active failed") =>
            {
                assert_eq!(
                    (traffic, active.as_deref()),
                    ((100, 0), Some("green")),
                    "{said}"
                )
            }
            1 => assert!(!run.stderr.contains("production is unchanged"), "{said}"),
            c => panic!("exit {c}: {said}"),
        }
    }
    eprintln!("exit code → rollbacks: {exits:?}");
}

#[test]
fn renaming_the_load_balancer_is_refused_while_the_old_one_routes_to_the_apps_colours() {
    let s = deployed();
    // A second load balancer the renamed plan names.
    s.cloud.edit(|w| {
        let mut lb = w.load_balancers["shop-alb"].clone();
        lb.arn = lb.arn.replace("shop-alb", "shop-alb2");
        w.load_balancers.insert("shop-alb2".into(), lb);
    });
    let s = s
        .edit_plan("name = \"shop-alb\"", "name = \"shop-alb2\"")
        .apply()
        .exits(1)
        .says("target group shop-blue is used by load balancer")
        .says("AWS lets a target group serve one load balancer");
    let world = s.cloud.world();
    let lb2 = &world.load_balancers["shop-alb2"].arn;
    assert!(
        world
            .listeners
            .values()
            .all(|l| &l.load_balancer_arn != lb2),
        "nothing was made on the new load balancer"
    );
    // drift says so too, and tears nothing down.
    s.run(&["drift"]).exits(2).says("is used by load balancer");
}

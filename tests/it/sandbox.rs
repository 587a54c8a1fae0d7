//! Whole deployments on the sandbox, in virtual time: what a user sees
//! (golden stdout) and what changed in the simulated cloud.

use crate::harness::{plan_toml, SandboxEnv};
use crate::scenario::{Scenario, V1, V2, V3};
use cutover::model::Weights;

fn deployed(delay: &str) -> SandboxEnv {
    let env = SandboxEnv::new(&plan_toml(V1, delay));
    env.run(&["apply", "--auto-approve"]).expect(0);
    env
}

#[test]
fn first_deploy_goes_to_blue_at_100_percent() {
    let s = Scenario::sandbox()
        .run(&["plan", "--detailed-exitcode"])
        .exits(2)
        .apply()
        .exits(0);
    crate::golden!("first_deploy", s.last().stdout.clone());
    let s = s
        .traffic(100, 0)
        .active("blue")
        .fleet("blue", Some((2, 2)))
        .fleet("green", None)
        // Idempotence: nothing left to do, and apply says so without touching anything.
        .run(&["plan", "--detailed-exitcode"])
        .exits(0)
        .says("No changes.");
    // Only the lock is written; nothing cutover manages changes.
    let mutations = |s: &Scenario<SandboxEnv>| {
        (
            s.calls("ModifyListener"),
            s.cloud.world().parameters["/cutover/shop/active"].version,
            s.calls("UpdateAutoScalingGroup"),
        )
    };
    let before = mutations(&s);
    let s = s.apply().exits(0).says("No changes.");
    assert_eq!(mutations(&s), before);
}

#[test]
fn second_release_shifts_step_by_step_then_tears_blue_down() {
    let s = Scenario::sandbox().apply().release(V2).apply().exits(0);
    crate::golden!("second_release", s.last().stdout.clone());
    // The shift happened in order, each step read back and baked.
    let shifts: Vec<&str> = s
        .last()
        .stderr
        .lines()
        .filter(|l| l.contains("shift production"))
        .collect();
    assert_eq!(shifts.len(), 4, "{}", s.last().stderr);
    for (line, want) in shifts
        .iter()
        .zip(["10% green", "25% green", "50% green", "100% green"])
    {
        assert!(line.contains(want), "{line} should contain {want}");
    }
    // Auto Scaling scales blue in seconds after the call, as on AWS.
    s.traffic(0, 100)
        .active("green")
        .fleet("green", Some((2, 2)))
        .fleet("blue", Some((0, 2)))
        .later(30)
        .fleet("blue", Some((0, 0)))
        .run(&["plan", "--detailed-exitcode"])
        .exits(0);
}

#[test]
fn third_release_goes_back_onto_blue() {
    let s = Scenario::sandbox()
        .apply()
        .release(V2)
        .apply()
        .exits(0)
        // Blue's instances are gone by the next release.
        .later(60)
        .release(V3)
        .apply()
        .exits(0);
    crate::golden!("third_release", s.last().stdout.clone());
    s.traffic(100, 0)
        .active("blue")
        .fleet("blue", Some((2, 2)))
        .later(30)
        .fleet("green", Some((0, 0)))
        // On fresh instances of the third release's launch template version.
        .runs_version("blue", 3)
        .run(&["plan", "--detailed-exitcode"])
        .exits(0);
}

#[test]
fn green_never_healthy_aborts_with_exit_3_and_no_traffic_moved() {
    let s = Scenario::sandbox()
        .apply()
        .unhealthy(V2)
        .release(V2)
        .apply()
        .exits(3)
        .says("Target.ResponseCodeMismatch");
    crate::golden!("green_never_healthy", s.last().stdout.clone());
    s.traffic(100, 0)
        .active("blue")
        .fleet("blue", Some((2, 2)))
        // green is kept for inspection
        .fleet("green", Some((2, 2)));
}

#[test]
fn teardown_waits_for_its_delay_and_the_next_apply_does_it() {
    let s = Scenario::sandbox()
        .teardown("30m")
        .apply()
        .release(V2)
        .apply()
        .exits(0)
        .says("teardown of blue (scale-to-zero) is due 30m after promotion")
        // blue is kept through the rollback window
        .fleet("blue", Some((2, 2)))
        // Not yet due: information, not a change.
        .run(&["plan", "--detailed-exitcode"])
        .exits(0)
        .says("is due at")
        .later(31 * 60)
        .run(&["plan", "--detailed-exitcode"])
        .exits(2);
    crate::golden!("teardown_due", s.last().stdout.clone());
    s.apply()
        .exits(0)
        .fleet("blue", Some((0, 2)))
        .later(30)
        .fleet("blue", Some((0, 0)))
        .traffic(0, 100)
        .run(&["plan", "--detailed-exitcode"])
        .exits(0);
}

#[test]
fn rollback_inside_the_window_is_one_listener_update_plus_ssm() {
    let s = Scenario::sandbox()
        .teardown("30m")
        .apply()
        .release(V2)
        .apply()
        .exits(0)
        .run(&["status"])
        .exits(0);
    crate::golden!("status_after_release", s.last().stdout.clone());
    let version =
        |s: &Scenario<SandboxEnv>| s.cloud.world().parameters["/cutover/shop/active"].version;
    let (listener_calls, active_version) = (s.calls("ModifyListener"), version(&s));
    let s = s.run(&["rollback"]).exits(0);
    crate::golden!("rollback", s.last().stdout.clone());
    assert_eq!(s.calls("ModifyListener"), listener_calls + 1);
    assert_eq!(
        version(&s),
        active_version + 1,
        "one update of the active colour"
    );
    s.traffic(100, 0).active("blue");
}

#[test]
fn rollback_refuses_when_the_previous_colour_has_no_capacity() {
    Scenario::sandbox()
        .apply()
        .release(V2)
        .apply()
        .exits(0)
        .run(&["rollback"])
        .exits(1)
        .says("cannot roll back to blue: none of its 2 targets is healthy")
        .says("scaled to zero")
        // nothing changed
        .traffic(0, 100);
}

#[test]
fn an_interrupted_release_resumes_from_the_step_it_reached() {
    // Steps: 1 version, 2 fleet, 3 wait, 4 test listener, 5 set 10%, 6 bake, 7 set 25%.
    let s = Scenario::sandbox()
        .apply()
        .release(V2)
        .apply_crashing_after(7)
        .traffic(75, 25)
        .run(&["plan"])
        .exits(0);
    crate::golden!("resume_plan", s.last().stdout.clone());
    let s = s.apply().exits(0);
    let shifts = s
        .last()
        .stderr
        .lines()
        .filter(|l| l.contains("shift production"))
        .count();
    assert_eq!(shifts, 2, "only 50% and 100% remain: {}", s.last().stderr);
    let s = s.traffic(0, 100).active("green");
    // Nothing was created twice.
    let world = s.cloud.world();
    assert_eq!(
        world
            .launch_templates
            .values()
            .next()
            .unwrap()
            .versions
            .len(),
        2
    );
    assert_eq!(s.calls("CreateAutoScalingGroup"), 2);
}

#[test]
fn in_place_changes_update_without_a_release() {
    let s = Scenario::sandbox()
        .apply()
        .edit_plan("path = \"/health\"", "path = \"/healthz\"")
        .edit_plan("desired_capacity = 2", "desired_capacity = 3")
        .run(&["plan", "--detailed-exitcode"])
        .exits(2);
    crate::golden!("in_place_plan", s.last().stdout.clone());
    let s = s.apply().exits(0);
    assert!(s
        .cloud
        .world()
        .target_groups
        .values()
        .all(|t| t.health_check.path == "/healthz"));
    // The third instance comes with the scaling activity, seconds later.
    s.fleet("blue", Some((3, 2)))
        .later(10)
        .fleet("blue", Some((3, 3)))
        .active("blue")
        .run(&["plan", "--detailed-exitcode"])
        .exits(0);
}

#[test]
fn teardown_policies_delete_and_keep_and_the_next_release_still_builds() {
    for (policy, blue_after) in [("delete", None), ("keep", Some((2, 2)))] {
        Scenario::sandbox()
            .edit_plan(
                "policy = \"scale-to-zero\"",
                &format!("policy = \"{policy}\""),
            )
            .apply()
            .exits(0)
            .release(V2)
            .apply()
            .exits(0)
            .fleet("blue", blue_after)
            .traffic(0, 100)
            .run(&["plan", "--detailed-exitcode"])
            .exits(0)
            .release(V3)
            .apply()
            .exits(0)
            .fleet("blue", Some((2, 2)))
            .active("blue")
            // blue serves the third release only
            .runs_version("blue", 3);
    }
}

fn foreign_lock(env: &SandboxEnv, host: &str, pid: u32) {
    let holder = cutover::model::Holder {
        user: "alice".into(),
        host: host.into(),
        pid,
        command: "cutover apply shop.toml".into(),
        started: 1_767_225_600,
        boot: None,
        token: "0123456789abcdef".into(),
        took_over: None,
    };
    env.edit(|w| {
        w.parameters.insert(
            "/cutover/shop/active-lock".into(),
            cutover::provider::sandbox::SbParameter {
                value: serde_json::to_string(&holder).unwrap(),
                modified_ms: 0,
                version: 1,
                older: vec![],
            },
        );
    });
}

#[test]
fn a_held_lock_stops_apply_and_rollback_until_unlock_breaks_it() {
    let env = deployed("30m");
    foreign_lock(&env, "build-host-7", 4242);
    env.set_plan(&plan_toml(V2, "30m"));
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(1);
    assert!(
        run.stderr.contains("shop is locked by alice@build-host-7 (pid 4242) running `cutover apply shop.toml` since 2026-01-01 00:00:00 UTC"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("cutover unlock shop.toml --yes"),
        "{}",
        run.stderr
    );
    // A rollback with nothing to do leaves the lock alone.
    env.run(&["rollback"]).expect(1);
    assert!(env.locked());
    assert_eq!(env.fleet("green"), None, "nothing was built");
    let status = env.run(&["status"]);
    assert!(
        status
            .stdout
            .contains("lock:          held by alice@build-host-7"),
        "{}",
        status.stdout
    );

    let refuse = env.run(&["unlock"]);
    refuse.expect(1);
    assert!(refuse.stderr.contains("--yes"), "{}", refuse.stderr);
    let unlock = env.run(&["unlock", "--yes"]);
    unlock.expect(0);
    assert!(
        unlock
            .stdout
            .contains("it was held by alice@build-host-7 (pid 4242)"),
        "{}",
        unlock.stdout
    );
    env.run(&["apply", "--auto-approve"]).expect(0);
    assert!(!env.locked(), "released after apply");
}

#[test]
fn a_lock_left_by_a_dead_process_on_this_host_is_taken_over_with_a_warning() {
    let env = deployed("0s");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    // A pid that does not exist: above the kernel's pid_max.
    foreign_lock(&env, &host, 4_194_305);
    env.set_plan(&plan_toml(V2, "0s"));
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(0);
    assert!(
        run.stderr
            .contains("warning: taking over the lock of alice@"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("that process is no longer running"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_rolled_back_release_is_not_redeployed_without_retry() {
    let env = deployed("0s");
    env.edit(|w| w.faults.unhealthy_images.push(V2.to_string()));
    env.set_plan(&plan_toml(V2, "0s"));
    let failed = env.run(&["apply", "--auto-approve"]);
    failed.expect(3);
    assert!(
        failed.stdout.contains("remembered as rolled back"),
        "{}",
        failed.stdout
    );

    // A scheduled apply of the same plan: nothing to do, and it says why.
    let plan = env.run(&["plan", "--detailed-exitcode"]);
    plan.expect(0);
    assert!(
        plan.stdout
            .contains("release 16516437c475 was rolled back at 2026-01-01")
            && plan.stdout.contains("not deployed again without `--retry`")
            && plan.stdout.contains("green keeps it for inspection"),
        "{}",
        plan.stdout
    );
    env.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(env.fleet("green"), Some((2, 2)), "kept for inspection");

    // --retry deploys it (the fault is fixed now).
    env.edit(|w| w.faults.unhealthy_images.clear());
    env.run(&["plan", "--detailed-exitcode", "--retry"])
        .expect(2);
    env.run(&["apply", "--auto-approve", "--retry"]).expect(0);
    assert_eq!(env.active().as_deref(), Some("green"));

    // A changed release deploys normally, without --retry.
    env.set_plan(&plan_toml(V3, "0s"));
    env.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(env.active().as_deref(), Some("blue"));
}

#[test]
fn rollback_after_promotion_flips_once_and_never_forward_to_the_rejected_release() {
    let env = deployed("30m");
    env.set_plan(&plan_toml(V2, "30m"));
    env.run(&["apply", "--auto-approve"]).expect(0);
    env.run(&["rollback"]).expect(0);
    assert_eq!(
        env.weights(),
        Weights {
            blue: 100,
            green: 0
        }
    );
    // A second rollback does not send traffic forward to the rejected release.
    let again = env.run(&["rollback"]);
    again.expect(1);
    assert!(
        again.stderr.contains("nothing to roll back"),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains("already rolled back"),
        "{}",
        again.stderr
    );
    assert_eq!(
        env.weights(),
        Weights {
            blue: 100,
            green: 0
        }
    );
    // And apply does not redeploy it.
    let plan = env.run(&["plan", "--detailed-exitcode"]);
    plan.expect(0);
    assert!(plan.stdout.contains("was rolled back"), "{}", plan.stdout);
}

#[test]
fn rollback_in_the_middle_of_a_shift_returns_to_the_active_colour() {
    let env = deployed("0s");
    env.set_plan(&plan_toml(V2, "0s"));
    // Steps: 1 version, 2 fleet, 3 wait, 4 test listener, 5 set 10%, 6 bake, 7 set 25%, 8 bake, 9 set 50%.
    let crashed = env.run_env(
        &["apply", "--auto-approve"],
        &[("CUTOVER_CRASH_AFTER_STEP", "9")],
    );
    assert_ne!(crashed.code, 0);
    assert_eq!(
        env.weights(),
        Weights {
            blue: 50,
            green: 50
        }
    );
    let run = env.run(&["rollback"]);
    run.expect(0);
    assert!(
        run.stdout
            .contains("100% of production on blue (was 50%). blue stays the active colour."),
        "{}",
        run.stdout
    );
    assert_eq!(
        env.weights(),
        Weights {
            blue: 100,
            green: 0
        }
    );
    assert_eq!(env.active().as_deref(), Some("blue"));
}

/// The scenario plan plus extra TOML (smoke tests, gates, …) at the end.
fn with(image: &str, extra: &str) -> String {
    format!("{}\n{extra}\n", plan_toml(image, "0s"))
}

#[test]
fn a_failing_smoke_test_stops_before_any_traffic_and_shows_its_output() {
    let smoke = r#"[[rollout.smoke]]
command = ["sh", "-c", "echo checking $CUTOVER_TEST_URL; echo 'GET /health: 503' >&2; exit 1"]
timeout = "30s"
"#;
    let env = deployed("0s");
    env.set_plan(&with(V2, smoke));
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(3);
    assert!(
        run.stdout
            .contains("smoke test failed on green: `sh -c echo checking"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("failed (exit code 1)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("checking http://shop-alb-1.us-east-1.elb.sandbox.local:8080"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("GET /health: 503"), "{}", run.stdout);
    assert!(
        run.stdout.contains("no production weight moved"),
        "{}",
        run.stdout
    );
    assert_eq!(
        env.weights(),
        Weights {
            blue: 100,
            green: 0
        }
    );
    assert_eq!(env.active().as_deref(), Some("blue"));
}

#[test]
fn smoke_tests_get_the_deployment_in_their_environment() {
    let env = deployed("0s");
    let out = env.dir.path().join("smoke-env.txt");
    let smoke = format!(
        "[[rollout.smoke]]\ncommand = [\"sh\", \"-c\", \"env | grep ^CUTOVER_ | sort > {}\"]\n",
        out.display()
    );
    env.set_plan(&with(V2, &smoke));
    env.run(&["apply", "--auto-approve"]).expect(0);
    let seen = std::fs::read_to_string(&out).unwrap();
    assert!(seen.contains("CUTOVER_APP=shop\n"), "{seen}");
    assert!(seen.contains("CUTOVER_COLOR=green\n"), "{seen}");
    assert!(seen.contains("CUTOVER_TARGET_GROUP_ARN=arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/shop-green/"), "{seen}");
    assert!(
        seen.contains("CUTOVER_TEST_URL=http://shop-alb-1.us-east-1.elb.sandbox.local:8080\n"),
        "{seen}"
    );
    assert!(
        !seen.contains("CUTOVER_WEIGHT"),
        "no weight before traffic: {seen}"
    );
}

#[test]
fn a_gate_failing_at_25_percent_rolls_back_in_one_call() {
    let gate = r#"[[rollout.gates]]
command = ["sh", "-c", "echo error rate at $CUTOVER_WEIGHT%; test $CUTOVER_WEIGHT -lt 25"]
"#;
    let env = deployed("0s");
    env.set_plan(&with(V2, gate));
    let listener_updates = env.calls("ModifyListener");
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(3);
    crate::golden!("gate_fails_at_25", run.stdout);
    assert_eq!(
        env.weights(),
        Weights {
            blue: 100,
            green: 0
        }
    );
    assert_eq!(env.active().as_deref(), Some("blue"));
    // test listener, 10%, 25%, then the rollback: one call.
    assert_eq!(env.calls("ModifyListener"), listener_updates + 4);
    assert_eq!(env.fleet("green"), Some((2, 2)), "kept for inspection");
}

#[test]
fn an_alarm_that_fires_while_green_serves_fails_the_gate() {
    let gate = "[[rollout.gates]]\nalarm = \"shop-5xx\"\n";
    let env = deployed("0s");
    // The alarm watches the app's errors: it fires once v2 serves users.
    env.edit(|w| {
        w.alarms
            .insert("shop-5xx".into(), cutover::model::observed::AlarmState::Ok);
        w.faults
            .alarms_while_serving
            .insert("shop-5xx".into(), V2.into());
    });
    env.set_plan(&with(V2, gate));
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(3);
    assert!(
        run.stdout
            .contains("gate failed on green at 10%: alarm shop-5xx is in ALARM"),
        "{}",
        run.stdout
    );
    assert_eq!(
        env.weights(),
        Weights {
            blue: 100,
            green: 0
        }
    );
    // Production home and the alarm quiet again: the release is
    // remembered, and apply without --retry leaves it where it is.
    let again = env.run(&["apply", "--auto-approve"]);
    again.expect(0);
    assert!(
        again
            .stdout
            .contains("alarm shop-5xx is in ALARM). `cutover apply --retry` deploys it again."),
        "{}",
        again.stdout
    );
    assert_eq!(env.weights().green, 0);
}

#[test]
fn an_alarm_already_in_alarm_refuses_the_apply_before_anything_moves() {
    // An alarm in ALARM before green serves anyone is not about the
    // release: the first gate would fail and blame it. Preflight refuses.
    let gate = "[[rollout.gates]]\nalarm = \"shop-5xx\"\n";
    let env = deployed("0s");
    env.edit(|w| {
        w.alarms.insert(
            "shop-5xx".into(),
            cutover::model::observed::AlarmState::Alarm,
        );
    });
    env.set_plan(&with(V2, gate));
    let calls = env.calls("CreateLaunchTemplateVersion");
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(1);
    assert!(
        run.stderr.contains(
            "CloudWatch alarm \"shop-5xx\" is in ALARM before the release has moved any traffic"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("shop.toml:"), "{}", run.stderr);
    assert_eq!(
        env.calls("CreateLaunchTemplateVersion"),
        calls,
        "nothing created"
    );
    env.run(&["plan"]).expect(1);

    // With the alarm OK the release goes through, no --retry needed:
    // nothing was judged.
    env.edit(|w| {
        w.alarms
            .insert("shop-5xx".into(), cutover::model::observed::AlarmState::Ok);
    });
    env.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(env.active().as_deref(), Some("green"));
}

#[test]
fn an_alarm_in_alarm_stops_no_in_place_change_and_judges_a_split_release() {
    let gate = "[[rollout.gates]]\nalarm = \"shop-5xx\"\n";
    let env = deployed("0s");
    env.edit(|w| {
        w.alarms.insert(
            "shop-5xx".into(),
            cutover::model::observed::AlarmState::Alarm,
        );
    });
    // The release is live: scaling out during the incident the alarm
    // reports goes ahead (no gate reads the alarm for it).
    let scaled = with(V1, gate).replace("desired_capacity = 2", "desired_capacity = 3");
    assert_ne!(
        scaled,
        with(V1, gate),
        "the harness plan sets desired_capacity = 2"
    );
    env.set_plan(&scaled);
    env.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(env.fleet("blue").map(|(d, _)| d), Some(3));

    // A release held at 10% (no users, no evidence from its metric gate)
    // while the alarm is quiet ...
    let gates = format!(
        "{gate}\n[[rollout.gates]]\nmetric = \"error_rate\"\nmax = \"1%\"\nmin_requests = 300\n"
    );
    env.edit(|w| {
        w.alarms
            .insert("shop-5xx".into(), cutover::model::observed::AlarmState::Ok);
        w.traffic = Some(cutover::provider::sandbox::Traffic::default());
    });
    env.set_plan(&with(V2, &gates));
    env.run(&["apply", "--auto-approve"])
        .expect(1)
        .prints(&["held at 10%"]);
    // ... then the alarm fires: green serves part of what it sees, so the
    // gate judges it. apply resumes and goes home on it.
    env.edit(|w| {
        w.alarms.insert(
            "shop-5xx".into(),
            cutover::model::observed::AlarmState::Alarm,
        );
    });
    env.run(&["apply", "--auto-approve"])
        .expect(3)
        .prints(&["alarm shop-5xx is in ALARM"]);
    assert_eq!(env.weights().green, 0);
}

#[test]
fn a_gate_naming_an_alarm_that_does_not_exist_is_refused_at_its_line() {
    let gate = "[[rollout.gates]]\nalarm = \"shop-5xx-typo\"\n";
    let env = deployed("0s");
    env.set_plan(&with(V2, gate));
    for command in [&["plan"][..], &["apply", "--auto-approve"]] {
        let run = env.run(command);
        run.expect(1);
        assert!(
            run.stderr
                .contains("CloudWatch alarm \"shop-5xx-typo\" does not exist in us-east-1"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(
        env.weights(),
        Weights {
            blue: 100,
            green: 0
        }
    );
    // No verdict on the release: with the alarm made, the next apply
    // deploys it without --retry.
    env.edit(|w| {
        w.alarms.insert(
            "shop-5xx-typo".into(),
            cutover::model::observed::AlarmState::Ok,
        );
    });
    env.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(env.active().as_deref(), Some("green"));
}

#[test]
fn http_smoke_tests_expect_their_status() {
    let server = crate::harness::HttpServer::start(&[503, 200]);
    let smoke = format!(
        "[[rollout.smoke]]\nhttp = {{ url = \"{}/health\", expect_status = 200 }}\ntimeout = \"5s\"\n",
        server.url
    );
    let env = deployed("0s");
    env.set_plan(&with(V2, &smoke));
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(3);
    assert!(
        run.stdout.contains("/health answered 503, expected 200"),
        "{}",
        run.stdout
    );
    env.run(&["apply", "--auto-approve", "--retry"]).expect(0);
    assert_eq!(env.active().as_deref(), Some("green"));
    assert_eq!(server.requests(), 2);
}

#[test]
fn manual_promotion_pauses_until_promote_and_rollback_abandons_a_paused_release() {
    let manual = "[rollout]\nauto_promote = false\n";
    let plan = |image: &str| plan_toml(image, "0s").replace("[rollout]\n", manual);
    let env = SandboxEnv::new(&plan(V1));
    env.run(&["apply", "--auto-approve"]).expect(0);
    env.set_plan(&plan(V2));
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(0);
    assert!(
        run.stdout
            .contains("Paused: green is built, healthy and smoke-tested"),
        "{}",
        run.stdout
    );
    assert_eq!(
        env.weights(),
        Weights {
            blue: 100,
            green: 0
        }
    );
    let status = env.run(&["status"]);
    assert!(
        status.stdout.contains(
            "paused:        green runs release 16516437c475 and waits for `cutover promote`"
        ),
        "{}",
        status.stdout
    );
    // A scheduled apply while paused: nothing to do.
    let again = env.run(&["plan", "--detailed-exitcode"]);
    again.expect(0);
    assert!(
        again.stdout.contains("waits for `cutover promote`"),
        "{}",
        again.stdout
    );

    let promote = env.run(&["promote"]);
    promote.expect(0);
    assert!(
        promote.stdout.contains("Promote complete: green is live"),
        "{}",
        promote.stdout
    );
    assert_eq!(
        env.weights(),
        Weights {
            blue: 0,
            green: 100
        }
    );
    env.run(&["promote"]).expect(1);

    // Next release: paused again, then abandoned with rollback.
    env.set_plan(&plan(V3));
    env.run(&["apply", "--auto-approve"]).expect(0);
    let rb = env.run(&["rollback"]);
    rb.expect(0);
    assert!(
        rb.stdout.contains(
            "production was already all on green; the release on blue will not be promoted"
        ),
        "{}",
        rb.stdout
    );
    assert_eq!(
        env.weights(),
        Weights {
            blue: 0,
            green: 100
        }
    );
    env.run(&["promote"]).expect(1);
    let plan_after = env.run(&["plan", "--detailed-exitcode"]);
    plan_after.expect(0);
    assert!(
        plan_after.stdout.contains("was rolled back"),
        "{}",
        plan_after.stdout
    );
}

fn hooks(dir: &std::path::Path) -> String {
    let log = dir.join("hooks.log");
    format!(
        "[hooks]\nbefore_deploy = [\"sh\", \"-c\", \"echo $CUTOVER_PHASE $CUTOVER_APP $CUTOVER_COLOR >> {log}\"]\nafter_teardown = [\"sh\", \"-c\", \"echo $CUTOVER_PHASE $CUTOVER_APP $CUTOVER_COLOR >> {log}\"]\n",
        log = log.display()
    )
}

#[test]
fn expand_before_deploy_and_contract_after_teardown() {
    let env = SandboxEnv::new(&plan_toml(V1, "0s"));
    let hooks = hooks(env.dir.path());
    env.set_plan(&with(V1, &hooks));
    env.run(&["apply", "--auto-approve"]).expect(0);
    env.set_plan(&with(V2, &hooks));
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(0);
    let log = std::fs::read_to_string(env.dir.path().join("hooks.log")).unwrap();
    assert_eq!(
        log,
        "before_deploy shop blue\nbefore_deploy shop green\nafter_teardown shop blue\n"
    );
    // The contract ran after blue had no instances: the steps say so, in order.
    let steps: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with('[')).collect();
    let zero = steps
        .iter()
        .position(|l| l.contains("scale shop-blue to zero"))
        .unwrap();
    let contract = steps
        .iter()
        .position(|l| l.contains("hook after_teardown"))
        .unwrap();
    assert!(zero < contract, "{steps:#?}");
    env.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn a_failing_before_deploy_hook_builds_nothing() {
    let env = deployed("0s");
    env.set_plan(&with(
        V2,
        "[hooks]\nbefore_deploy = [\"sh\", \"-c\", \"echo migration failed >&2; exit 4\"]\n",
    ));
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(3);
    assert!(run.stdout.contains("before_deploy failed on green: `sh -c echo migration failed >&2; exit 4` failed (exit code 4)"), "{}", run.stdout);
    assert!(run.stdout.contains("migration failed"), "{}", run.stdout);
    assert_eq!(env.fleet("green"), None, "nothing built");
    assert_eq!(
        env.world()
            .launch_templates
            .values()
            .next()
            .unwrap()
            .versions
            .len(),
        1
    );
}

#[test]
fn a_contract_hook_interrupted_by_a_crash_runs_on_the_next_apply() {
    let env = SandboxEnv::new(&plan_toml(V1, "0s"));
    let hooks = hooks(env.dir.path());
    env.set_plan(&with(V1, &hooks));
    env.run(&["apply", "--auto-approve"]).expect(0);
    env.set_plan(&with(V2, &hooks));
    // Steps of the release: 1 hook, 2 version, 3 fleet, 4 wait, 5 test listener,
    // 6-13 shift and bake, 14 record previous, 15 record active, 16 mark,
    // 17 detach, 18 drain, 19 zero, 20 hook.
    let crashed = env.run_env(
        &["apply", "--auto-approve"],
        &[("CUTOVER_CRASH_AFTER_STEP", "19")],
    );
    assert_ne!(crashed.code, 0);
    // Scaled to zero; Auto Scaling has not acted on it yet.
    assert_eq!(env.fleet("blue"), Some((0, 2)));
    let plan = env.run(&["plan", "--detailed-exitcode"]);
    plan.expect(2);
    assert!(
        plan.stdout.contains("run hook after_teardown for blue"),
        "{}",
        plan.stdout
    );
    env.run(&["apply", "--auto-approve"]).expect(0);
    let log = std::fs::read_to_string(env.dir.path().join("hooks.log")).unwrap();
    assert!(log.ends_with("after_teardown shop blue\n"), "{log}");
    env.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn notifications_go_to_the_webhook_and_its_url_never_appears() {
    let hook = crate::harness::HttpServer::start(&[200]);
    let secret_url = format!("{}/services/T0/B0/s3cr3t-token", hook.url);
    let notify = "[notify]\nwebhook_env = \"SHOP_WEBHOOK\"\n";
    let env = SandboxEnv::new(&with(V1, notify));
    let webhook = [("SHOP_WEBHOOK", secret_url.as_str())];
    let mut seen = String::new();
    let first = env.run_env(&["apply", "--auto-approve"], &webhook);
    first.expect(0);
    env.set_plan(&with(V2, &format!("{notify}\n[[rollout.gates]]\ncommand = [\"sh\", \"-c\", \"test $CUTOVER_WEIGHT -lt 50\"]\n")));
    let failed = env.run_env(&["apply", "--auto-approve", "-v"], &webhook);
    failed.expect(3);
    env.set_plan(&with(V3, notify).replace("delay = \"0s\"", "delay = \"30m\""));
    env.run_env(&["apply", "--auto-approve"], &webhook)
        .expect(0);
    let rb = env.run_env(&["rollback"], &webhook);
    rb.expect(0);
    for run in [&first, &failed, &rb] {
        seen.push_str(&run.stdout);
        seen.push_str(&run.stderr);
    }
    assert!(!seen.contains("s3cr3t"), "the webhook URL leaked:\n{seen}");

    let events: Vec<(String, String)> = hook
        .json()
        .iter()
        .map(|m| {
            (
                m["event"].as_str().unwrap().to_string(),
                m["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let kinds: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "started",
            "promoted",
            "started",
            "failed",
            "started",
            "promoted",
            "rolled_back"
        ],
        "{events:#?}"
    );
    assert_eq!(
        events[6].1,
        "shop: rolled back to blue; production 100% on blue"
    );
    assert!(
        events[3]
            .1
            .starts_with("shop: release 16516437c475 failed at step 10"),
        "{events:#?}"
    );
    assert!(
        events[3].1.ends_with("Production: 100% blue"),
        "{events:#?}"
    );
    let failed_msg = &hook.json()[3];
    assert_eq!(failed_msg["app"], "shop");
    assert_eq!(failed_msg["color"], "green");
    assert_eq!(failed_msg["image"], V2);
}

#[test]
fn a_failing_webhook_is_a_warning_not_a_failed_deployment() {
    let env = SandboxEnv::new(&with(V1, "[notify]\nwebhook_env = \"SHOP_WEBHOOK\"\n"));
    // Nothing listens on port 9 of loopback.
    let run = env.run_env(
        &["apply", "--auto-approve"],
        &[("SHOP_WEBHOOK", "http://127.0.0.1:9/hook-s3cr3t")],
    );
    run.expect(0);
    assert!(
        run.stderr
            .contains("warning: the notification webhook ($SHOP_WEBHOOK) failed"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("s3cr3t") && !run.stdout.contains("s3cr3t"),
        "{}",
        run.stderr
    );
    assert_eq!(env.active().as_deref(), Some("blue"));
}

/// Production weight only on colours with their full healthy capacity, and
/// the active colour never torn down (docs/safety.md, rules 1-3), read from
/// `cutover status --format json`.
fn assert_invariants(env: &SandboxEnv, context: &str) {
    let status = env.run(&["status", "--format", "json"]);
    status.expect(0);
    let s: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    for c in s["colors"].as_array().unwrap() {
        if c["share"].as_u64().unwrap() > 0 {
            assert!(
                c["healthy"].as_u64().unwrap() >= 2,
                "{context}: traffic on {} with {} healthy",
                c["color"],
                c["healthy"]
            );
        }
        if s["active"] == c["color"] {
            assert_eq!(c["desired"], 2, "{context}: the active colour was shrunk");
        }
    }
}

#[test]
fn a_crash_after_any_step_of_a_release_converges_on_the_next_apply() {
    let extra = "[hooks]\nbefore_deploy = [\"true\"]\nafter_teardown = [\"true\"]\n\n[[rollout.smoke]]\ncommand = [\"true\"]\n";
    let probe = deployed("0s");
    probe.set_plan(&with(V2, extra));
    let plan = probe.run(&["plan"]);
    let steps = plan
        .stdout
        .lines()
        .filter(|l| {
            l.trim_start()
                .split_once(". ")
                .is_some_and(|(n, _)| n.parse::<u32>().is_ok())
        })
        .count();
    assert!(steps >= 15, "{}", plan.stdout);
    for k in 1..=steps {
        let env = deployed("0s");
        env.set_plan(&with(V2, extra));
        let crashed = env.run_env(
            &["apply", "--auto-approve"],
            &[("CUTOVER_CRASH_AFTER_STEP", &k.to_string())],
        );
        assert_ne!(crashed.code, 0, "step {k}: the crash hook fired");
        assert_invariants(&env, &format!("after a crash at step {k}"));
        let again = env.run(&["apply", "--auto-approve"]);
        again.expect(0);
        assert_eq!(
            env.weights(),
            Weights {
                blue: 0,
                green: 100
            },
            "step {k}"
        );
        assert_eq!(env.active().as_deref(), Some("green"), "step {k}");
        assert_eq!(env.fleet("blue"), Some((0, 0)), "step {k}");
        assert_eq!(env.fleet("green"), Some((2, 2)), "step {k}");
        assert_eq!(
            env.calls("CreateAutoScalingGroup"),
            2,
            "step {k}: a fleet created twice"
        );
        assert_eq!(env.calls("CreateTargetGroup"), 2, "step {k}");
        assert_eq!(env.calls("CreateListener"), 2, "step {k}");
        assert_eq!(
            env.world()
                .launch_templates
                .values()
                .next()
                .unwrap()
                .versions
                .len(),
            2,
            "step {k}: a launch template version created twice"
        );
        assert!(!env.locked(), "step {k}");
        env.run(&["plan", "--detailed-exitcode"]).expect(0);
    }
}

#[test]
fn hooks_and_checks_never_see_the_webhook_url() {
    let env = deployed("0s");
    let out = env.dir.path().join("seen.txt");
    let extra = format!(
        "[notify]\nwebhook_env = \"SHOP_WEBHOOK\"\n\n[hooks]\nbefore_deploy = [\"sh\", \"-c\", \"env > {0}\"]\n\n[[rollout.smoke]]\ncommand = [\"sh\", \"-c\", \"env >> {0}\"]\n",
        out.display()
    );
    env.set_plan(&with(V2, &extra));
    env.run_env(
        &["apply", "--auto-approve"],
        &[("SHOP_WEBHOOK", "http://127.0.0.1:9/s3cr3t")],
    )
    .expect(0);
    let seen = std::fs::read_to_string(&out).unwrap();
    assert!(seen.contains("CUTOVER_PHASE=before_deploy"), "{seen}");
    assert!(seen.contains("CUTOVER_TEST_URL="), "{seen}");
    assert!(
        !seen.contains("s3cr3t") && !seen.contains("SHOP_WEBHOOK"),
        "{seen}"
    );
}

/// A sandbox deployed with V1, then V2 promoted, inside a 30-minute window.
fn promoted_v2() -> Scenario<SandboxEnv> {
    Scenario::sandbox()
        .teardown("30m")
        .apply()
        .exits(0)
        .release(V2)
        .apply()
        .exits(0)
        .traffic(0, 100)
}

fn deny(s: Scenario<SandboxEnv>, what: &str) -> Scenario<SandboxEnv> {
    s.cloud.edit(|w| w.faults.denied.push(what.to_string()));
    s
}

#[test]
fn a_rollback_whose_flip_is_refused_changes_nothing_and_says_so() {
    deny(promoted_v2(), "ModifyListener")
        .run(&["rollback"])
        .exits(1)
        .says("updating the production listener failed, production is unchanged")
        .says("AccessDenied")
        // The person's verdict stands, and the output says it was recorded.
        .says("is remembered as rolled back all the same")
        .traffic(0, 100)
        // The parameter went out with the flip and was put back.
        .active("green");
}

#[test]
fn a_rollback_whose_record_is_refused_says_traffic_moved_and_to_run_it_again() {
    let s = deny(promoted_v2(), "PutParameter /cutover/shop/active")
        .run(&["rollback"])
        .exits(1)
        .says("traffic is on blue but recording it as active failed")
        .says("run `cutover rollback` again")
        .traffic(100, 0);
    s.cloud.edit(|w| w.faults.denied.clear());
    s.run(&["rollback"]).exits(0).active("blue");
}

#[test]
fn a_rollback_that_cannot_remember_the_release_warns_after_the_flip() {
    deny(promoted_v2(), "CreateOrUpdateTags")
        .run(&["rollback"])
        .exits(0)
        .says("warning: could not tag shop-green as rolled back")
        .traffic(100, 0)
        .active("blue");
}

#[test]
fn an_aws_error_is_not_a_verdict_on_the_release() {
    // Everything shifts, then recording the promotion is refused: production
    // goes home, and the release is tried again by the next apply.
    let s = deny(
        Scenario::sandbox().apply().exits(0),
        "PutParameter /cutover/shop/active",
    )
    .release(V2)
    .apply()
    .exits(3)
    .says("rolled back to blue in one call")
    .says("This is not a verdict on release")
    .traffic(100, 0)
    .active("blue");
    s.cloud.edit(|w| w.faults.denied.clear());
    s.run(&["plan", "--detailed-exitcode"])
        .exits(2)
        .apply()
        .exits(0)
        .traffic(0, 100)
        .active("green");
}

#[test]
fn rollback_after_a_revert_goes_back_to_the_release_that_served_before() {
    // A (blue) → B (green) → the plan goes back to A (blue again): blue runs
    // the older launch template version, yet B served last.
    let s = Scenario::sandbox()
        .teardown("30m")
        .apply()
        .exits(0)
        .release(V2)
        .apply()
        .exits(0)
        .release(V1)
        .apply()
        .exits(0)
        .traffic(100, 0)
        .active("blue")
        .run(&["status"])
        .says("would send 100% to green")
        .says("because green served before blue was promoted at")
        .run(&["plan"])
        .says("Rollback now: `cutover rollback` would send production to green")
        .run(&["rollback"])
        .exits(0)
        .says("Rolled back shop: 100% of production on green (was 0%)")
        .traffic(0, 100)
        .active("green");
    // A second rollback does not flip back onto the release just rolled back from.
    s.run(&["rollback"])
        .exits(1)
        .says("was already rolled back from; `cutover apply --retry` deploys it again")
        .traffic(0, 100);
}

#[test]
fn an_app_promoted_without_a_record_rolls_back_by_inference_and_says_so() {
    let s = promoted_v2();
    s.cloud.edit(|w| {
        w.parameters.remove("/cutover/shop/active-previous");
    });
    s.run(&["rollback"])
        .exits(0)
        .says("warning: no promotion record says which colour served before green")
        .traffic(100, 0)
        .active("blue");
}

#[test]
fn a_release_that_raises_capacity_and_fails_its_first_gate_goes_home() {
    raises_capacity_and_fails_its_first_gate(Scenario::sandbox());
}

/// blue serves with 2; green is built with 3 and fails its first gate. The
/// way home judges blue by its own 2. The same on every cloud.
pub(crate) fn raises_capacity_and_fails_its_first_gate<C: crate::scenario::Cloud>(s: Scenario<C>) {
    s.apply()
        .exits(0)
        .release(V2)
        .edit_plan("desired_capacity = 2", "desired_capacity = 3")
        .gate_fails_at(10)
        .apply()
        .exits(3)
        .says("gate failed on green at 10%")
        .says("rolled back to blue in one call")
        .traffic(100, 0)
        .active("blue");
}

#[test]
fn rollback_force_flips_onto_a_colour_short_of_healthy_targets_after_saying_so() {
    let s = promoted_v2();
    blue_loses_targets(&s, 1);
    s.run(&["rollback"])
        .exits(1)
        .says("`cutover rollback --force` flips anyway")
        .traffic(0, 100)
        .run(&["rollback", "--force"])
        .exits(0)
        .says("warning: --force: blue has 1 of the 2 healthy targets it served with")
        .traffic(100, 0)
        .active("blue");
}

#[test]
fn rollback_never_sends_production_to_a_colour_with_no_healthy_target() {
    // Teardown 0s: blue is scaled to zero at promotion.
    Scenario::sandbox()
        .apply()
        .release(V2)
        .apply()
        .exits(0)
        .run(&["rollback", "--force"])
        .exits(1)
        .says("none of its 2 targets is healthy")
        .traffic(0, 100);
}

#[test]
fn rollback_during_the_bake_at_100_percent_goes_back_to_the_active_colour() {
    // Steps: 1 version, 2 fleet, 3 wait, 4 test listener, 5-10 shift to 50%
    // and bake, 11 set 100%: production is all on green, blue still active.
    Scenario::sandbox()
        .teardown("30m")
        .apply()
        .release(V2)
        .apply_crashing_after(11)
        .traffic(0, 100)
        .active("blue")
        .run(&["rollback", "--force"])
        .exits(0)
        .says("Rolled back shop: 100% of production on blue")
        .traffic(100, 0)
        .active("blue");
}

#[test]
fn rollback_to_a_colour_that_was_deleted_says_so() {
    Scenario::sandbox()
        .edit_plan("policy = \"scale-to-zero\"", "policy = \"delete\"")
        .apply()
        .release(V2)
        .apply()
        .exits(0)
        .run(&["rollback"])
        .exits(1)
        .says("blue, which served before, was torn down")
        .traffic(0, 100);
}

#[test]
fn rollback_preempts_a_held_lock_and_frees_it() {
    let s = promoted_v2();
    foreign_lock(&s.cloud, "build-host-7", 4242);
    let s = s
        .run(&["rollback"])
        .exits(0)
        .says("taking over the lock of alice@build-host-7 (pid 4242)")
        .says("a rollback preempts it")
        .traffic(100, 0)
        .active("blue");
    assert!(!s.cloud.locked(), "the lock is free afterwards");
}

#[test]
fn the_confirmation_prompt_holds_no_lock() {
    let s = Scenario::sandbox().apply().exits(0).release(V2);
    s.cloud.set_plan(&s.plan_text());
    let cmd = format!(
        "{} apply shop.toml --sandbox sandbox.json",
        env!("CARGO_BIN_EXE_cutover")
    );
    let locked = || s.cloud.locked();
    let run = crate::harness::at_a_terminal(s.cloud.dir.path(), &cmd, &[], "yes", || {
        assert!(!locked(), "a prompt waiting for a person holds no lock");
    });
    assert!(run.0, "{}", run.1);
    s.traffic(0, 100).active("green");
}

/// The targets blue lost, to give back (`off_happy_path::heal`).
pub(crate) type Lost = Vec<(String, serde_json::Value)>;

/// blue, live with V1, loses `n` of its 2 targets from its target group.
pub(crate) fn blue_loses_targets(s: &Scenario<SandboxEnv>, n: usize) -> Lost {
    let mut lost = Lost::new();
    s.cloud.edit(|w| {
        let tg = w
            .target_groups
            .values_mut()
            .find(|t| t.name == "shop-blue")
            .unwrap();
        let gone: Vec<String> = tg.targets.keys().take(n).cloned().collect();
        for id in gone {
            let t = tg.targets.remove(&id).unwrap();
            lost.push((id, serde_json::to_value(t).unwrap()));
        }
    });
    lost
}

#[test]
fn the_way_home_to_a_colour_short_of_targets_waits_then_goes_home_loudly() {
    // A gate fails on green (a verdict) while blue is short: going home to
    // a short blue is still better than staying on a release that failed.
    let s = Scenario::sandbox().apply().exits(0);
    blue_loses_targets(&s, 1);
    s.release(V2)
        .gate_fails_at(10)
        .apply()
        .exits(3)
        .says("gate failed on green at 10%")
        .says("rolled back to blue in one call")
        .says("WARNING: blue serves with only 1 of its 2 targets healthy")
        .traffic(100, 0)
        .active("blue");
}

#[test]
fn with_no_healthy_target_to_go_home_to_the_split_holds_and_exit_is_1() {
    let s = Scenario::sandbox().apply().exits(0);
    blue_loses_targets(&s, 2);
    s.release(V2)
        .gate_fails_at(10)
        .apply()
        .exits(1)
        .says("ROLLBACK FAILED (blue has 0 of its 2 targets healthy after waiting 10m")
        .says("`cutover rollback --force`")
        .traffic(90, 10);
}

#[test]
fn a_colour_tagged_with_the_release_but_running_older_instances_gets_fresh_ones() {
    // Auto Scaling never acted between a capacity of 0 and N: blue is
    // tagged with release V1 and set to its launch template version, and
    // its instances were launched from another one.
    let s = Scenario::sandbox()
        .teardown("1h")
        .apply()
        .release(V2)
        .apply()
        .exits(0);
    s.cloud.edit(|w| {
        for i in &mut w.fleets.get_mut("shop-blue").unwrap().instances {
            i.template_version = 7;
        }
    });
    s.release(V1)
        .apply()
        .exits(0)
        .says("instances of an older version: 2 → 0")
        .says("scale shop-blue to zero and wait until its old instances are gone")
        .traffic(100, 0)
        .active("blue")
        .runs_version("blue", 1)
        .run(&["plan", "--detailed-exitcode"])
        .exits(0);
}

#[test]
fn a_failed_launch_ends_the_health_wait_and_the_next_apply_tries_again() {
    let s = Scenario::sandbox().apply().release(V2);
    s.cloud
        .edit(|w| w.faults.failing_images.push(V2.to_string()));
    let s = s
        .apply()
        .exits(3)
        .says("shop-green could not launch instances: The image id '[ami-0000000000000002]' does not exist. Launching EC2 instance failed.")
        .says("Check that the plan's image exists in this region")
        .says("This is not a verdict on release")
        .traffic(100, 0)
        .active("blue");
    assert!(
        !s.last().stdout.contains("was not healthy within"),
        "{}",
        s.last().stdout
    );
    s.cloud.edit(|w| w.faults.failing_images.clear());
    s.apply().exits(0).traffic(0, 100).active("green");
}

#[test]
fn a_lifecycle_converges_through_seeded_aws_faults_over_several_seeds() {
    for seed in 1..=8 {
        // Short bakes: a run that meets an error goes home and the next one
        // starts the rollout again.
        let s = Scenario::sandbox().edit_plan("bake = \"5m\"", "bake = \"10s\"");
        // Per call, once the SDK's retries ran out: 0.5% throttled, 0.5%
        // 500s, 1% of writes done with the answer lost; weights read back
        // stale for 3 s after a change.
        s.cloud.edit(|w| {
            w.faults.throttle_rate = 0.005;
            w.faults.error_rate = 0.005;
            w.faults.lost_rate = 0.01;
            w.faults.stale_read_secs = 3;
            w.faults.seed = seed;
        });
        let (s, a) = s.until_done(&["apply", "--auto-approve"], 40);
        let s = s.traffic(100, 0).active("blue");
        let (s, b) = s.release(V2).until_done(&["apply", "--auto-approve"], 40);
        let s = s.traffic(0, 100).active("green");
        let (s, c) = s.release(V3).until_done(&["apply", "--auto-approve"], 40);
        let s = s.traffic(100, 0).active("blue");
        // Every run that failed, failed for a fault the sandbox injected
        // (stale reads never stop a run); none left its lock or took
        // another's over.
        for tries in [&a, &b, &c] {
            let failed = tries.all_caused_by(
                &[
                    "Throttling",
                    "InternalFailure",
                    "the answer could not be read",
                ],
                20,
            );
            eprintln!("seed {seed}: {failed} runs failed before one succeeded:\n{tries}");
        }
        let s = s.settled(&[&a, &b, &c]);
        let world = s.cloud.world();
        let faults = &world.faults;
        assert!(faults.draws > 100, "seed {seed}: {} draws", faults.draws);
        // Nothing made twice: two target groups, two fleets, one template
        // with a version per release.
        assert_eq!(world.target_groups.len(), 2, "seed {seed}");
        assert_eq!(world.fleets.len(), 2, "seed {seed}");
        assert_eq!(world.launch_templates.len(), 1, "seed {seed}");
        assert_eq!(
            world
                .launch_templates
                .values()
                .next()
                .unwrap()
                .versions
                .len(),
            3,
            "seed {seed}"
        );
        s.cloud.edit(|w| {
            w.faults.throttle_rate = 0.0;
            w.faults.error_rate = 0.0;
            w.faults.lost_rate = 0.0;
        });
        s.later(60)
            .runs_version("blue", 3)
            .run(&["plan", "--detailed-exitcode"])
            .exits(0);
    }
}

#[test]
fn a_release_onto_a_colour_still_running_an_older_one_starts_on_fresh_instances() {
    // Kept an hour after promotion: blue still runs release 1 when release
    // 3 comes; Auto Scaling acts seconds after each call.
    let s = Scenario::sandbox()
        .teardown("1h")
        .apply()
        .release(V2)
        .apply()
        .exits(0);
    let release_1: Vec<String> = s.cloud.world().fleets["shop-blue"]
        .instances
        .iter()
        .map(|i| i.id.clone())
        .collect();
    let s = s
        .release(V3)
        .apply()
        .exits(0)
        .says("scale shop-blue to zero and wait until its old instances are gone")
        .traffic(100, 0)
        .active("blue")
        .runs_version("blue", 3);
    let world = s.cloud.world();
    let tg = world
        .target_groups
        .values()
        .find(|t| t.name == "shop-blue")
        .unwrap();
    assert_eq!(tg.targets.len(), 2);
    for id in tg.targets.keys() {
        assert!(
            !release_1.contains(id),
            "{id} of release 1 serves release 3"
        );
    }
}

#[test]
fn a_role_that_may_not_read_scaling_activities_still_deploys() {
    let s = Scenario::sandbox().apply().release(V2);
    s.cloud.edit(|w| {
        w.faults
            .denied
            .push("DescribeScalingActivities".to_string())
    });
    s.apply().exits(0).traffic(0, 100).active("green");
}

#[test]
fn a_launch_template_version_auto_scaling_does_not_see_yet_is_waited_for() {
    // EC2 is eventually consistent: for 3 s after a version is made, Auto
    // Scaling answers that the launch template does not exist. The step
    // tries again instead of abandoning the release.
    let s = Scenario::sandbox();
    s.cloud.edit(|w| w.faults.stale_read_secs = 3);
    let s = s.apply().exits(0).traffic(100, 0).active("blue");
    let shown = s.last().stderr.clone();
    assert!(
        shown.contains("not visible to AWS yet (it is eventually consistent), trying again: CreateAutoScalingGroup answered ValidationError: You must use a valid fully-formed launch template."),
        "{shown}"
    );
    // The second release's group meets it too, and the release goes out.
    let s = s
        .release(V2)
        .apply()
        .exits(0)
        .traffic(0, 100)
        .active("green");
    assert!(
        s.last()
            .stderr
            .contains("trying again: CreateAutoScalingGroup answered ValidationError"),
        "{}",
        s.last().stderr
    );
}

#[test]
fn an_app_with_a_rule_moves_only_its_rule_on_a_listener_someone_else_owns() {
    let rule = "role = \"production\"\nrule = { priority = 100, hosts = [\"shop.example.com\"] }\n";
    let s = Scenario::sandbox()
        .teardown("1h")
        .edit_plan("role = \"production\"\n", rule)
        .apply()
        .exits(0)
        .traffic(100, 0);
    assert!(
        s.last().stdout.contains("+ rule 100 on :80 (production)"),
        "{}",
        s.last().stdout
    );
    let s = s
        .release(V2)
        .apply()
        .exits(0)
        .traffic(0, 100)
        .active("green");
    assert!(
        s.last()
            .stdout
            .contains("build green, shift rule 100 on :80 10% → 25% → 50% → 100%, then promote"),
        "{}",
        s.last().stdout
    );
    let s = s.run(&["rollback"]).exits(0).traffic(100, 0).active("blue");
    // The listener is its owner's: its default action never changed.
    let world = s.cloud.world();
    let listener = world.listeners.values().find(|l| l.port == 80).unwrap();
    assert!(listener.forward.is_empty());
    assert_eq!(listener.kept_actions, ["fixed-response"]);
    // Moving the rule is a change to the rule, in place.
    let moved = "role = \"production\"\nrule = { priority = 90, hosts = [\"shop.example.com\"] }\n";
    let s = s.edit_plan(rule, moved).run(&["plan"]).exits(0);
    assert!(
        s.last().stdout.contains("~ rule 90 on :80 (production)")
            && s.last().stdout.contains("priority: 100 → 90"),
        "{}",
        s.last().stdout
    );
}

/// The sandbox on the wall clock (boots and health checks time-compressed),
/// blue live with V1, and a plan for V2 whose bakes last a minute: a
/// release other processes can meet half way.
fn shared_sandbox_mid_release() -> Scenario<SandboxEnv> {
    let s = Scenario::sandbox()
        .apply()
        .exits(0)
        .release(V2)
        .edit_plan("bake = \"5m\"", "bake = \"60s\"")
        .edit_plan(
            "deregistration_delay = \"30s\"",
            "deregistration_delay = \"1s\"",
        );
    s.cloud.edit(|w| {
        w.settings.clock = cutover::provider::sandbox::Clock::Real;
        w.settings.time_scale = 50.0;
    });
    s.cloud.set_plan(&s.plan_text());
    s
}

#[test]
fn a_rollback_from_another_process_preempts_a_running_apply() {
    let s = shared_sandbox_mid_release();
    let apply = s.cloud.spawn(&["apply", "--auto-approve"]);
    s.cloud.wait_for_traffic(Weights {
        blue: 90,
        green: 10,
    });
    let s = s
        .run(&["rollback"])
        .exits(0)
        .says("a rollback preempts it")
        .says("100% of production on blue (was 90%)");
    let out = apply.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("took the lock over; this run made no further change"),
        "{stdout}"
    );
    let s = s.traffic(100, 0).active("blue");
    assert!(!s.cloud.locked(), "the lock is free afterwards");
}

#[test]
fn five_applies_on_one_sandbox_at_once_exactly_one_proceeds() {
    let s = shared_sandbox_mid_release().edit_plan("bake = \"60s\"", "bake = \"1s\"");
    s.cloud.set_plan(&s.plan_text());
    let runs: Vec<std::process::Child> = (0..5)
        .map(|_| s.cloud.spawn(&["apply", "--auto-approve"]))
        .collect();
    let outs: Vec<std::process::Output> = runs
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let codes: Vec<i32> = outs.iter().map(|o| o.status.code().unwrap_or(-1)).collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    for o in outs.iter().filter(|o| o.status.code() == Some(1)) {
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("shop is locked by"), "{stderr}");
    }
    let world = s.cloud.world();
    assert_eq!(
        world
            .launch_templates
            .values()
            .map(|t| t.versions.len())
            .sum::<usize>(),
        2,
        "nothing created twice"
    );
    s.traffic(0, 100).active("green");
}

/// Makes blue's live release look as an older cutover made it: launch data
/// without the IMDSv2 setting, and the fingerprint that had.
fn as_made_before_imdsv2(s: &Scenario<SandboxEnv>) -> String {
    let mut legacy = String::new();
    s.cloud.edit(|w| {
        let fleet = w.fleets.get_mut("shop-blue").unwrap();
        let version = fleet.template_version;
        let template = w.launch_templates.get_mut(&fleet.template_id).unwrap();
        let v = template
            .versions
            .iter_mut()
            .find(|v| v.number == version)
            .unwrap();
        v.data.imdsv2 = None;
        legacy = cutover::model::Release::new(v.data.clone()).fingerprint;
        v.description = format!("cutover release {legacy}");
        fleet.tags.insert("cutover:release".into(), legacy.clone());
    });
    legacy
}

#[test]
fn imdsv2_by_default_waits_for_the_next_release_of_an_app_made_before_it() {
    let s = Scenario::sandbox().apply().exits(0);
    let legacy = as_made_before_imdsv2(&s);
    // The plan is the same but for the new default: no release for that.
    let s = s
        .run(&["plan", "--detailed-exitcode"])
        .exits(0)
        .says(&format!(
            "release {legacy} predates IMDSv2 required (fleet.imdsv2): it takes effect with the next release"
        ));
    // The next release brings it, and says so.
    let s = s
        .release(V2)
        .run(&["plan"])
        .exits(0)
        .says("imdsv2: not set (IMDSv1 answered) → required");
    let s = s.apply().exits(0).traffic(0, 100);
    let world = s.cloud.world();
    let green = &world.fleets["shop-green"];
    let data = &world.launch_templates[&green.template_id].versions
        [green.template_version as usize - 1]
        .data;
    assert_eq!(data.imdsv2, Some(true));
}

#[test]
fn imdsv1_allowed_on_request_with_a_warning() {
    Scenario::sandbox()
        .edit_plan(
            "instance_type = \"t3.small\"\n",
            "instance_type = \"t3.small\"\nimdsv2 = false\n",
        )
        .run(&["plan"])
        .exits(0)
        .says("fleet.imdsv2 = false: the instances also answer IMDSv1 requests");
}

#[test]
fn an_automatic_rollback_ends_session_affinity_in_the_same_update_and_says_so() {
    let s = Scenario::sandbox()
        .edit_plan(
            "health_timeout = \"10m\"",
            "health_timeout = \"10m\"\nsession_affinity = \"10m\"",
        )
        .apply()
        .exits(0)
        .release(V2)
        .gate_fails_at(25)
        .apply()
        .exits(3)
        .says("Session affinity (10m) was turned off in the same update: every user is on blue now")
        .traffic(100, 0);
    let world = s.cloud.world();
    let production = world.listeners.values().find(|l| l.port == 80).unwrap();
    assert_eq!(production.affinity_secs, 0, "affinity is off");
}

#[test]
fn a_freeze_holds_a_running_apply_at_its_next_step_and_apply_continues_after_thaw() {
    // The real clock bakes in real seconds: short bakes keep the test fast
    // while leaving the freeze seconds to land mid-rollout.
    let s = shared_sandbox_mid_release().edit_plan("bake = \"60s\"", "bake = \"3s\"");
    s.cloud.set_plan(&s.plan_text());
    let apply = s.cloud.spawn(&["apply", "--auto-approve"]);
    s.cloud.wait_for_traffic(Weights {
        blue: 90,
        green: 10,
    });
    s.cloud
        .run_region(&["freeze", "--reason", "INC-7: database failover"])
        .expect(0)
        .prints(&["Froze every app in", "`cutover thaw` lifts it"]);
    let out = apply.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for said in [
        "Apply held at step",
        "every app in this account and region is frozen by",
        "INC-7: database failover",
        "no further step forward and nothing torn down",
    ] {
        assert!(stdout.contains(said), "{said:?} in {stdout}");
    }
    // Held where the freeze met it: neither home nor promoted.
    let held = s.cloud.weights();
    assert!(held.green > 0 && held.green < 100, "{held:?}");
    assert!(!s.cloud.locked(), "the lock is released");
    // While frozen, apply starts nothing; status and plan say why.
    s.cloud
        .run(&["apply", "--auto-approve"])
        .expect(1)
        .shows(&["nothing was applied", "INC-7: database failover"]);
    assert_eq!(s.cloud.weights(), held);
    s.cloud
        .run(&["status"])
        .expect(0)
        .prints(&["frozen:", "INC-7: database failover"]);
    s.cloud
        .run(&["plan"])
        .expect(0)
        .prints(&["INC-7: database failover"]);
    s.cloud
        .run_region(&["thaw"])
        .expect(0)
        .prints(&["Thawed every app in", "INC-7: database failover"]);
    s.cloud.run(&["apply", "--auto-approve"]).expect(0);
    s.traffic(0, 100).active("green");
}

#[test]
fn rollback_is_never_blocked_by_a_freeze_and_an_app_freeze_holds_that_app() {
    let s = Scenario::sandbox()
        .teardown("30m")
        .apply()
        .exits(0)
        .release(V2);
    s.cloud.set_plan(&s.plan_text());
    s.cloud
        .run(&["freeze", "--reason", "shop's payment provider migrates"])
        .expect(0)
        .prints(&[
            "Froze shop (shop.toml)",
            "`cutover thaw shop.toml` lifts it",
        ]);
    s.cloud.run(&["apply", "--auto-approve"]).expect(1).shows(&[
        "nothing was applied: the app is frozen by",
        "`cutover thaw shop.toml` lifts it",
    ]);
    s.cloud.run(&["thaw"]).expect(0);
    let s = s.apply().exits(0).traffic(0, 100);
    s.cloud.run(&["freeze", "--reason", "INC-8"]).expect(0);
    // A freeze stops forward moves; going back is always allowed.
    let s = s.run(&["rollback"]).exits(0).traffic(100, 0).active("blue");
    s.cloud
        .run(&["thaw"])
        .expect(0)
        .prints(&["Thawed shop (shop.toml)"]);
    s.cloud
        .run(&["thaw"])
        .expect(0)
        .prints(&["shop (shop.toml) was not frozen."]);
}

//! The binary's exit codes and messages for the commands of the CLI contract.

use crate::harness::{cutover, plan_toml, SandboxEnv};

#[test]
fn validate_accepts_the_example_plans() {
    let root = env!("CARGO_MANIFEST_DIR");
    let run = cutover(
        &["validate", "plans/demo.toml"],
        &[],
        std::path::Path::new(root),
    );
    run.expect(0);
    assert!(
        run.stdout.contains("plans/demo.toml: valid"),
        "{}",
        run.stdout
    );
}

/// The README's demo: one command on a new sandbox file, then a second
/// release, whose metric gates judge the traffic a new sandbox file has
/// (without it they would hold the release), with waits skipped.
#[test]
fn the_demo_plan_on_a_new_sandbox_file_is_promoted_on_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/plans/demo.toml"))
        .expect("plans/demo.toml");
    let plan = dir.path().join("demo.toml");
    std::fs::write(&plan, &demo).unwrap();
    let apply = [
        "apply",
        "demo.toml",
        "--sandbox",
        ".cutover/sandbox.json",
        "--auto-approve",
    ];
    cutover(&apply, &[], dir.path()).expect(0);
    std::fs::write(
        &plan,
        demo.replace("ami-0demo0000000001", "ami-0demo0000000002"),
    )
    .unwrap();
    cutover(&apply, &[], dir.path())
        .expect(0)
        .prints(&["green is live with release"])
        .shows(&[
            ": green 0.00% of 600 requests vs blue 0.00% of 5,400 requests: pass",
            "latency p99 ",
            "every metric gate judged a window: pass",
        ]);
}

#[test]
fn validate_reports_every_error_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = plan_toml("ami-1", "0s")
        .replace("interval = \"10s\"", "interval = \"10 seconds\"")
        .replace("steps = [10, 25, 50, 100]", "steps = [10, 50, 25]")
        .replace("min_size = 2", "min_size = 3");
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let run = cutover(&["validate", "bad.toml"], &[], dir.path());
    run.expect(1);
    let e = &run.stderr;
    assert!(
        e.contains("`health_check.interval` is not a duration: \"10 seconds\""),
        "{e}"
    );
    assert!(e.contains("--> bad.toml:25:12"), "{e}");
    assert!(
        e.contains("step 25% does not rise above the step before it (50%)"),
        "{e}"
    );
    assert!(
        e.contains("min_size ≤ desired_capacity ≤ max_size, got 3 ≤ 2 ≤ 4"),
        "{e}"
    );
    assert!(e.contains("errors found"), "{e}");
}

#[test]
fn unknown_keys_name_the_place_and_the_valid_keys() {
    let dir = tempfile::tempdir().unwrap();
    let bad = plan_toml("ami-1", "0s").replace("instance_type", "instanse_type");
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let run = cutover(
        &["plan", "bad.toml", "--sandbox", "sb.json"],
        &[],
        dir.path(),
    );
    run.expect(1);
    assert!(
        run.stderr
            .contains("unknown key `instanse_type` in [fleet]"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("bad.toml:33:1"), "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean `instance_type`?"),
        "{}",
        run.stderr
    );
    assert!(
        !dir.path().join("sb.json").exists(),
        "a bad plan touches no cloud"
    );
}

#[test]
fn missing_empty_and_binary_plan_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.toml"), "").unwrap();
    std::fs::write(
        dir.path().join("binary.toml"),
        [0xff, 0xfe, 0x00, 0x9f, 0x92],
    )
    .unwrap();
    for file in ["missing.toml", "empty.toml", "binary.toml"] {
        let run = cutover(&["validate", file], &[], dir.path());
        run.expect(1);
        assert!(run.stderr.contains(file), "{file}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}

#[test]
fn plan_detailed_exitcode_is_2_with_changes_and_0_without() {
    let env = SandboxEnv::new(&plan_toml("ami-1", "0s"));
    env.run(&["plan"]).expect(0);
    env.run(&["plan", "--detailed-exitcode"]).expect(2);
    env.run(&["apply", "--auto-approve"]).expect(0);
    env.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn apply_without_auto_approve_refuses_when_there_is_no_terminal() {
    let env = SandboxEnv::new(&plan_toml("ami-1", "0s"));
    let run = env.run(&["apply"]);
    run.expect(1);
    assert!(run.stderr.contains("pass --auto-approve"), "{}", run.stderr);
    assert!(env.world().listeners.is_empty(), "nothing was applied");
}

#[test]
fn usage_errors_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    cutover(&["no-such-command"], &[], dir.path()).expect(1);
    cutover(&["plan"], &[], dir.path()).expect(1);
    cutover(&["--help"], &[], dir.path()).expect(0);
}

#[test]
fn rollback_before_any_deploy_says_there_is_nothing_to_roll_back() {
    let env = SandboxEnv::new(&plan_toml("ami-1", "0s"));
    let run = env.run(&["rollback"]);
    run.expect(1);
    assert!(
        run.stderr.contains("nothing to roll back"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_subnet_the_account_does_not_have_stops_apply_at_its_line_before_anything_is_made() {
    // The first plan gives the sandbox its load balancer, VPC, subnets and
    // security group; a later plan naming another subnet meets preflight.
    let env = SandboxEnv::new(&plan_toml("ami-1", "0s"));
    env.run(&["plan"]).expect(0);
    env.set_plan(&plan_toml("ami-1", "0s").replace("\"subnet-b\"", "\"subnet-typo\""));
    let run = env.run(&["apply", "--auto-approve"]);
    run.expect(1);
    assert!(
        run.stderr.contains(
            "error: subnet subnet-typo does not exist in us-east-1\n  --> shop.toml:34:24\n"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("^^^^^^^^^^^^^"), "{}", run.stderr);
    let world = env.world();
    assert!(
        world.target_groups.is_empty() && world.fleets.is_empty() && world.listeners.is_empty(),
        "nothing is created"
    );
}

#[test]
fn the_committed_schema_is_the_generated_one() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = cutover(&["schema"], &[], root);
    run.expect(0);
    let committed =
        std::fs::read_to_string(root.join("schemas/plan.schema.json")).unwrap_or_default();
    assert!(
        committed == run.stdout,
        "schemas/plan.schema.json is stale: run `cargo run -- schema > schemas/plan.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        schema["additionalProperties"],
        serde_json::json!(false),
        "unknown keys are rejected"
    );
    let required = schema["required"].as_array().unwrap();
    for key in ["app", "load_balancer", "listeners", "target_group", "fleet"] {
        assert!(
            required.contains(&serde_json::json!(key)),
            "{key} is required"
        );
    }
}

#[test]
fn every_committed_output_schema_is_the_generated_one() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (flag, file) in [
        ("--plan-output", "plan-output"),
        ("--report", "report"),
        ("--status", "status"),
        ("--drift", "drift"),
        ("--diff", "diff"),
        ("--history", "history"),
        ("--apply", "apply"),
    ] {
        let run = cutover(&["schema", flag], &[], root);
        run.expect(0);
        let path = format!("schemas/{file}.schema.json");
        let committed = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
        assert!(
            committed == run.stdout,
            "{path} is stale: run `cargo run -- schema {flag} > {path}`"
        );
    }
}

#[test]
fn an_aws_error_is_one_line_with_what_to_do_and_the_chain_only_with_v() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shop.toml"),
        crate::harness::plan_toml("ami-0000000000000001", "0s"),
    )
    .unwrap();
    // Nothing listens on this port: the connection fails.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = crate::moto::aws_env(&format!("http://127.0.0.1:{port}"));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = cutover(&["status", "shop.toml"], &env, dir.path());
    run.expect(1);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains("failed: could not reach AWS (the connection failed); check the network and the endpoint, then run the command again"),
        "{}",
        run.stderr
    );
    for dump in ["DispatchFailure", "ConnectorError", "hyper", "Some("] {
        assert!(!run.stderr.contains(dump), "{dump} in {}", run.stderr);
    }
    let verbose = cutover(&["status", "shop.toml", "-v"], &env, dir.path());
    verbose.expect(1);
    assert!(
        verbose.stderr.contains("AWS call failed"),
        "{}",
        verbose.stderr
    );
}

#[test]
fn a_wrong_retry_setting_is_refused_saying_where_it_is_and_what_is_right() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shop.toml"),
        crate::harness::plan_toml("ami-0000000000000001", "0s"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("config"),
        "[profile ci]\nretry_mode = fast\n",
    )
    .unwrap();
    let config = dir.path().join("config").display().to_string();
    let base = crate::moto::aws_env("http://127.0.0.1:9");
    let mut env: Vec<(&str, &str)> = base.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("AWS_MAX_ATTEMPTS", "many"));
    let run = cutover(&["status", "shop.toml"], &env, dir.path());
    run.expect(1);
    assert!(
        run.stderr.contains(
            "AWS_MAX_ATTEMPTS is \"many\": expected a whole number of attempts from 1 (cutover's default is 25)"
        ),
        "{}",
        run.stderr
    );
    // The profile's setting, when the environment has none.
    env.retain(|(k, _)| !matches!(*k, "AWS_MAX_ATTEMPTS" | "AWS_CONFIG_FILE"));
    env.push(("AWS_CONFIG_FILE", &config));
    let run = cutover(
        &["status", "shop.toml", "--profile", "ci"],
        &env,
        dir.path(),
    );
    run.expect(1);
    assert!(
        run.stderr
            .contains("retry_mode in profile ci is \"fast\": expected standard or adaptive"),
        "{}",
        run.stderr
    );
}

#[test]
fn completions_and_the_manual_page_come_from_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef cutover"),
        ("fish", "complete -c cutover"),
    ] {
        let run = cutover(&["completions", shell], &[], dir.path());
        run.expect(0);
        assert!(run.stdout.contains(marker), "{shell}: {}", run.stdout);
        for command in ["apply", "rollback", "drift", "status"] {
            assert!(run.stdout.contains(command), "{shell} lacks {command}");
        }
    }
    cutover(&["completions", "tcsh"], &[], dir.path()).expect(1);
    let man = cutover(&["man"], &[], dir.path());
    man.expect(0);
    assert!(
        man.stdout.starts_with(".ie") && man.stdout.contains(".TH cutover 1"),
        "{}",
        man.stdout
    );
    assert!(man.stdout.contains("rollback"), "{}", man.stdout);
}

#[test]
fn quiet_apply_prints_the_outcome_and_errors_only() {
    let env = SandboxEnv::new(&plan_toml("ami-1", "0s"));
    let run = env.run(&["-q", "apply", "--auto-approve"]);
    run.expect(0);
    assert!(!run.stdout.contains("Steps:"), "{}", run.stdout);
    assert!(!run.stdout.contains("cutover plan:"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Apply complete: blue is live"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.trim().is_empty(), "{}", run.stderr);
    // A plan with nothing to do is its own outcome, even with -q.
    env.run(&["-q", "apply", "--auto-approve"])
        .expect(0)
        .prints(&["No changes"]);
    // Without -q the plan comes first, as always.
    env.set_plan(&plan_toml("ami-2", "0s"));
    env.run(&["apply", "--auto-approve"])
        .expect(0)
        .prints(&["Steps:"]);
}

#[test]
fn status_json_says_whether_a_rollback_is_possible_without_rust_wrappers() {
    let env = SandboxEnv::new(&plan_toml("ami-1", "0s"));
    env.run(&["apply", "--auto-approve"]).expect(0);
    let status = |env: &SandboxEnv| -> serde_json::Value {
        let run = env.run(&["status", "--format", "json"]);
        run.expect(0);
        assert!(
            !run.stdout.contains("\"Ok\"") && !run.stdout.contains("\"Err\""),
            "{}",
            run.stdout
        );
        crate::output::validate_against("schemas/status.schema.json", &run.stdout);
        serde_json::from_str(&run.stdout).unwrap()
    };
    let first = status(&env);
    assert_eq!(first["rollback"]["possible"], false, "{first}");
    assert!(
        first["rollback"]["refused"]
            .as_str()
            .unwrap()
            .contains("cannot roll back to green"),
        "{first}"
    );
    // Within the teardown delay, blue is there to go back to.
    env.set_plan(&plan_toml("ami-2", "30m"));
    env.run(&["apply", "--auto-approve"]).expect(0);
    let second = status(&env);
    assert_eq!(second["rollback"]["possible"], true, "{second}");
    assert_eq!(second["rollback"]["to"], "blue", "{second}");
    assert_eq!(second["rollback"]["short_healthy"], serde_json::Value::Null);
}

/// SGR sequences (colour, bold): `ESC [ digits;… m`. Cursor movement
/// (a progress bar redrawing itself) ends in another letter.
fn sgr_count(text: &str) -> usize {
    text.split('\u{1b}')
        .skip(1)
        .filter(|rest| {
            rest.strip_prefix('[').is_some_and(|r| {
                let code: String = r
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == ';')
                    .collect();
                r[code.len()..].starts_with('m')
            })
        })
        .count()
}

/// An apply on a terminal (`script`'s pseudo-terminal), with progress
/// bars: `--no-color` leaves no colour in them or in the plan, as
/// `NO_COLOR` does; without either the terminal gets colour.
#[test]
fn no_color_and_no_color_env_leave_no_colour_on_a_terminal() {
    let bin = env!("CARGO_BIN_EXE_cutover");
    let shown = |flag: &str, no_color_env: bool, command: &str| {
        let env = SandboxEnv::new(&plan_toml("ami-1", "0s"));
        env.run(&["apply", "--auto-approve"]).expect(0);
        env.set_plan(&plan_toml("ami-2", "0s").replace("bake = \"5m\"", "bake = \"1s\""));
        // The real clock, 50 times faster: the health wait draws its bar.
        env.edit(|w| {
            w.settings.clock = cutover::provider::sandbox::Clock::Real;
            w.settings.time_scale = 50.0;
        });
        let cmd = format!("{bin} {command} {flag} shop.toml --sandbox sandbox.json");
        let term = crate::harness::Terminal::open_with(env.dir.path(), &cmd, &[], no_color_env);
        let (code, seen) = term.finish();
        assert!(code.is_some(), "{seen}");
        seen
    };
    for (flag, env) in [("--no-color", false), ("", true)] {
        let seen = shown(flag, env, "apply --auto-approve");
        assert!(seen.contains("Apply complete"), "{seen}");
        assert!(seen.contains("0/2 "), "no progress bar drawn: {seen:?}");
        assert_eq!(sgr_count(&seen), 0, "{flag} NO_COLOR={env}: {seen:?}");
    }
    let coloured = shown("", false, "apply --auto-approve");
    assert!(sgr_count(&coloured) > 0, "{coloured:?}");
}

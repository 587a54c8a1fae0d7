//! Plans people review: text, markdown and JSON for each kind of change
//! (golden files), the comment-size limit, and the JSON against its schema.

use crate::harness::{plan_toml, SandboxEnv};

const V1: &str = "ami-0000000000000001";
const V2: &str = "ami-0000000000000002";

/// The three renderings of the current plan.
fn outputs(env: &SandboxEnv) -> (String, String, String) {
    let text = env.run(&["plan"]);
    let md = env.run(&["plan", "--format", "markdown"]);
    let json = env.run(&["plan", "--format", "json"]);
    (text.stdout, md.stdout, json.stdout)
}

fn snapshot(name: &str, env: &SandboxEnv) {
    let (text, md, json) = outputs(env);
    crate::golden!(format!("{name}_text"), text);
    crate::golden!(format!("{name}_markdown"), md);
    crate::golden!(format!("{name}_json"), json);
    validate_json(&json);
}

/// Checks a `plan --format json` document against schemas/plan-output.schema.json
/// with Python's jsonschema (installed beside moto by scripts/test).
fn validate_json(doc: &str) {
    validate_against("schemas/plan-output.schema.json", doc);
}

/// Checks a JSON document against the schema at `schema` (a path from the
/// repository's root) with Python's jsonschema.
pub fn validate_against(schema: &str, doc: &str) {
    let python = match std::env::var_os("CUTOVER_MOTO_SERVER") {
        Some(moto) => std::path::Path::new(&moto).with_file_name("python"),
        None => std::path::Path::new(".venv/bin/python").to_path_buf(),
    };
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator(schema).validate(json.loads(sys.stdin.read()))
"#;
    use std::io::Write;
    let mut child = std::process::Command::new(python)
        .args(["-c", script, schema])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(doc.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn first_deploy_renders_in_every_format() {
    let env = SandboxEnv::new(&plan_toml(V1, "30m"));
    snapshot("first_deploy", &env);
}

#[test]
fn a_release_with_one_in_place_change_renders_in_every_format() {
    let env = SandboxEnv::new(&plan_toml(V1, "30m"));
    env.run(&["apply", "--auto-approve"]).expect(0);
    env.set_plan(&plan_toml(V2, "30m").replace("matcher = \"200-299\"", "matcher = \"200\""));
    snapshot("release_with_in_place", &env);
    let (_, md, _) = outputs(&env);
    assert!(md.starts_with("### cutover plan\n\n**shop: new release 16516437c475 (ami-0000000000000001 → ami-0000000000000002) → green in 4 steps, 2 in-place changes**"), "{md}");
}

#[test]
fn in_place_only_and_no_changes_render_in_every_format() {
    let env = SandboxEnv::new(&plan_toml(V1, "30m"));
    env.run(&["apply", "--auto-approve"]).expect(0);
    snapshot("no_changes", &env);
    env.set_plan(&plan_toml(V1, "30m").replace("desired_capacity = 2", "desired_capacity = 3"));
    snapshot("in_place", &env);
}

#[test]
fn a_teardown_renders_as_a_destroy() {
    let env = SandboxEnv::new(&plan_toml(V1, "30m"));
    env.run(&["apply", "--auto-approve"]).expect(0);
    env.set_plan(&plan_toml(V2, "30m"));
    env.run(&["apply", "--auto-approve"]).expect(0);
    env.edit(|w| w.settings.virtual_now_ms += 31 * 60 * 1000);
    snapshot("teardown", &env);
}

#[test]
fn many_apps_fit_one_comment_without_breaking_a_code_block() {
    // Three hundred apps' first deploys: far more than one comment holds.
    let env = SandboxEnv::new(&plan_toml(V1, "30m"));
    let dir = env.dir.path().join("apps");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..300 {
        let toml = plan_toml(V1, "30m")
            .replace("name = \"shop\"", &format!("name = \"app{i:03}\""))
            .replace("name = \"shop-alb\"", &format!("name = \"alb{i:03}\""));
        std::fs::write(dir.join(format!("app{i:03}.toml")), toml).unwrap();
    }
    let run = crate::harness::cutover(
        &[
            "plan",
            "apps",
            "--format",
            "markdown",
            "--sandbox",
            "sandbox.json",
        ],
        &[],
        env.dir.path(),
    );
    run.expect(0);
    let md = &run.stdout;
    assert!(
        md.chars().count() <= 65_536,
        "{} characters",
        md.chars().count()
    );
    assert!(
        md.starts_with("### cutover plan: 300 apps, 300 with changes"),
        "{}",
        &md[..200]
    );
    assert_eq!(md.matches("```").count() % 2, 0, "a code block was cut");
    assert!(
        md.contains("**Truncated** to stay under GitHub's 65536-character comment limit"),
        "{}",
        &md[md.len() - 400..]
    );
    assert!(
        md.contains("**app000: first deploy"),
        "the first apps are shown in full"
    );

    let json = crate::harness::cutover(
        &[
            "plan",
            "apps",
            "--format",
            "json",
            "--sandbox",
            "sandbox.json",
        ],
        &[],
        env.dir.path(),
    );
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["plans"].as_array().unwrap().len(), 300);
    validate_json(&json.stdout);
}

#[test]
fn diff_says_what_a_plan_file_change_will_do_without_any_cloud() {
    let dir = tempfile::tempdir().unwrap();
    let old = plan_toml(V1, "30m");
    let new = plan_toml(V2, "30m")
        .replace("path = \"/health\"", "path = \"/healthz\"")
        .replace("bake = \"5m\"", "bake = \"10m\"");
    std::fs::write(dir.path().join("old.toml"), &old).unwrap();
    std::fs::write(dir.path().join("new.toml"), &new).unwrap();
    let run = |args: &[&str]| {
        crate::harness::cutover(
            args,
            &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9")],
            dir.path(),
        )
    };
    let same = run(&["diff", "old.toml", "old.toml"]);
    same.expect(0);
    assert_eq!(same.stdout, "shop: no changes\n");
    for (format, name) in [
        ("text", "diff_text"),
        ("markdown", "diff_markdown"),
        ("json", "diff_json"),
    ] {
        let out = run(&["diff", "old.toml", "new.toml", "--format", format]);
        out.expect(2);
        if format == "json" {
            validate_against("schemas/diff.schema.json", &out.stdout);
        }
        crate::golden!(name, out.stdout);
    }
    std::fs::write(dir.path().join("bad.toml"), "[app]\nname = 1\n").unwrap();
    run(&["diff", "old.toml", "bad.toml"]).expect(1);
}

#[test]
fn a_saved_plan_applies_as_reviewed_or_is_refused_when_stale() {
    let env = SandboxEnv::new(&plan_toml(V1, "30m"));
    env.run(&["apply", "--auto-approve"]).expect(0);
    env.set_plan(&plan_toml(V2, "30m"));
    let saved = env.run(&["plan", "--out", "release.json"]);
    saved.expect(0);
    assert!(
        saved.stderr.contains("Saved the plan to release.json"),
        "{}",
        saved.stderr
    );

    // Someone changes the plan file after review: the saved plan still applies what was reviewed.
    env.set_plan(&plan_toml("ami-0000000000000009", "30m"));
    let run = crate::harness::cutover(
        &[
            "apply",
            "release.json",
            "--auto-approve",
            "--sandbox",
            "sandbox.json",
        ],
        &[],
        env.dir.path(),
    );
    run.expect(0);
    assert!(
        run.stdout
            .contains("green is live with release 16516437c475 (ami-0000000000000002)"),
        "{}",
        run.stdout
    );

    // A plan made, then live state changes (a hand-edited capacity): refused.
    env.set_plan(&plan_toml(V1, "30m"));
    env.run(&["plan", "--out", "back.json"]).expect(0);
    env.edit(|w| w.fleets.get_mut("shop-green").unwrap().capacity.desired = 3);
    let stale = crate::harness::cutover(
        &[
            "apply",
            "back.json",
            "--auto-approve",
            "--sandbox",
            "sandbox.json",
        ],
        &[],
        env.dir.path(),
    );
    stale.expect(1);
    assert!(
        stale
            .stderr
            .contains("the plan is stale: live state changed since it was made"),
        "{}",
        stale.stderr
    );
    assert!(
        stale
            .stderr
            .contains("fleets.green.capacity.desired: 2 → 3"),
        "{}",
        stale.stderr
    );
    assert_eq!(env.active().as_deref(), Some("green"), "nothing applied");
}

#[test]
fn drift_reports_hand_edits_and_apply_repairs_them() {
    let env = SandboxEnv::new(&plan_toml(V1, "30m"));
    env.run(&["apply", "--auto-approve"]).expect(0);
    let clean = env.run(&["drift"]);
    clean.expect(0);
    assert_eq!(clean.stdout, "shop: in sync\n");

    // Someone sets 50/50 by hand, edits a health check and the capacity.
    env.edit(|w| {
        let tgs: Vec<(String, String)> = w
            .target_groups
            .iter()
            .map(|(a, t)| (a.clone(), t.name.clone()))
            .collect();
        let l = w.listeners.values_mut().find(|l| l.port == 80).unwrap();
        l.forward = tgs.iter().map(|(arn, _)| (arn.clone(), 50)).collect();
        for tg in w.target_groups.values_mut() {
            tg.health_check.path = "/ping".into();
        }
        w.fleets.get_mut("shop-blue").unwrap().capacity.desired = 3;
    });
    let drift = env.run(&["drift"]);
    drift.expect(2);
    crate::golden!("drift_text", drift.stdout);
    let md = env.run(&["drift", "--format", "markdown"]);
    crate::golden!("drift_markdown", md.stdout);
    let json = env.run(&["drift", "--format", "json"]).stdout;
    validate_against("schemas/drift.schema.json", &json);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["drift"], true);
    let kinds: Vec<&str> = json["apps"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["health_check", "health_check", "capacity", "weights"]
    );

    env.run(&["apply", "--auto-approve"]).expect(0);
    env.run(&["drift"]).expect(0);
}

#[test]
fn a_stalled_deployment_is_drift_until_resumed() {
    let env = SandboxEnv::new(&plan_toml(V1, "0s"));
    env.run(&["apply", "--auto-approve"]).expect(0);
    env.set_plan(&plan_toml(V2, "0s"));
    env.run_env(
        &["apply", "--auto-approve"],
        &[("CUTOVER_CRASH_AFTER_STEP", "7")],
    );
    env.run(&["unlock", "--yes"]).expect(0);
    let drift = env.run(&["drift"]);
    drift.expect(2);
    assert!(
        drift.stdout.contains(
            "a release stopped at 25% on green, blue still active; no run holds the lock"
        ),
        "{}",
        drift.stdout
    );
    env.run(&["apply", "--auto-approve"]).expect(0);
    env.run(&["drift"]).expect(0);
}

#[test]
fn drift_reports_resources_tagged_as_ours_that_no_plan_mentions() {
    let env = SandboxEnv::new(&plan_toml(V1, "30m"));
    env.run(&["apply", "--auto-approve"]).expect(0);
    // Two more apps: cart on shop's load balancer (its plan is not given to
    // this job), blog on a load balancer of its own (another team's).
    let apply = |app: &str, lb: &str| {
        let plan = plan_toml(V1, "30m")
            .replace("name = \"shop\"", &format!("name = \"{app}\""))
            .replace("name = \"shop-alb\"", &format!("name = \"{lb}\""))
            .replace(
                "port = 80\n",
                if lb == "shop-alb" {
                    "port = 81\n"
                } else {
                    "port = 80\n"
                },
            )
            .replace(
                "port = 8080\nprotocol = \"HTTP\"\nrole",
                "port = 8081\nprotocol = \"HTTP\"\nrole",
            );
        let file = format!("{app}.toml");
        std::fs::write(env.dir.path().join(&file), plan).unwrap();
        let args = [
            "apply",
            file.as_str(),
            "--auto-approve",
            "--sandbox",
            "sandbox.json",
        ];
        crate::harness::cutover(&args, &[], env.dir.path()).expect(0);
    };
    apply("cart", "shop-alb");
    apply("blog", "blog-alb");
    let unowned = |app: &str, stdout: &str| {
        [
            "target group {app}-blue",
            "target group {app}-green",
            "auto scaling group {app}-blue",
        ]
        .iter()
        .all(|name| {
            let name = name.replace("{app}", app);
            stdout.contains(&format!(
                "~ {name}: tagged cutover:app={app}, but no plan given mentions it"
            ))
        })
    };
    let drift = env.run(&["drift"]);
    drift.expect(2);
    assert!(unowned("cart", &drift.stdout), "{}", drift.stdout);
    assert!(
        !drift.stdout.contains("blog"),
        "another load balancer's app is not this job's drift:\n{}",
        drift.stdout
    );
    assert!(drift.stdout.contains("shop: in sync"), "{}", drift.stdout);
    // --orphans lists the rest of the account, separately.
    let drift = env.run(&["drift", "--orphans"]);
    drift.expect(2);
    let (scoped, orphans) = drift
        .stdout
        .split_once("(orphans:")
        .expect("an orphans section");
    assert!(
        unowned("cart", scoped) && !scoped.contains("blog"),
        "{}",
        drift.stdout
    );
    assert!(
        unowned("blog", orphans) && !orphans.contains("cart"),
        "{}",
        drift.stdout
    );
    // Every plan given: nothing unowned, nothing orphaned.
    let all = [
        "drift",
        "shop.toml",
        "cart.toml",
        "blog.toml",
        "--orphans",
        "--sandbox",
        "sandbox.json",
    ];
    crate::harness::cutover(&all, &[], env.dir.path()).expect(0);
}

/// The harness plan with user data of three lines, the last one `last`.
fn with_user_data(last: &str, sensitive: bool) -> String {
    crate::harness::plan_toml("ami-1", "0s").replace(
        "security_groups = [\"sg-0123\"]",
        &format!(
            "security_groups = [\"sg-0123\"]\nuser_data = \"\"\"\n#!/bin/sh\necho one\n{last}\n\"\"\"{}",
            if sensitive { "\nuser_data_sensitive = true" } else { "" }
        ),
    )
}

#[test]
fn a_user_data_change_reads_as_a_line_diff_unless_it_is_sensitive() {
    let env = crate::harness::SandboxEnv::new(&with_user_data("echo two", false));
    env.run(&["apply", "--auto-approve"]).expect(0);
    env.set_plan(&with_user_data("echo three", false));
    let text = env.run(&["plan"]);
    text.expect(0);
    for line in ["user_data:", "  echo one", "- echo two", "+ echo three"] {
        assert!(text.stdout.contains(line), "{line:?} in:\n{}", text.stdout);
    }
    let markdown = env.run(&["plan", "--format", "markdown"]);
    assert!(
        markdown
            .stdout
            .contains("\n-       echo two\n+       echo three\n"),
        "{}",
        markdown.stdout
    );
    let json = env.run(&["plan", "--format", "json"]);
    assert!(json.stdout.contains("echo three"), "{}", json.stdout);

    // Sensitive: a hash in every rendering, never the text.
    env.set_plan(&with_user_data("echo three", true));
    for format in ["text", "markdown", "json"] {
        let run = env.run(&["plan", "--format", format]);
        run.expect(0);
        assert!(
            run.stdout.contains("(sensitive, sha256 "),
            "{format}: {}",
            run.stdout
        );
        assert!(!run.stdout.contains("echo"), "{format}: {}", run.stdout);
    }

    // `cutover diff` between two plan files diffs the lines as well.
    std::fs::write(
        env.dir.path().join("old.toml"),
        with_user_data("echo two", false),
    )
    .unwrap();
    std::fs::write(
        env.dir.path().join("new.toml"),
        with_user_data("echo three", false),
    )
    .unwrap();
    let diff = crate::harness::cutover(&["diff", "old.toml", "new.toml"], &[], env.dir.path());
    diff.expect(2);
    assert!(
        diff.stdout.contains("- echo two") && diff.stdout.contains("+ echo three"),
        "{}",
        diff.stdout
    );
}

#[test]
fn a_saved_plan_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let env = crate::harness::SandboxEnv::new(&with_user_data("echo two", false));
    let saved = env.dir.path().join("saved.plan");
    // Even over a file someone made readable to all.
    std::fs::write(&saved, "").unwrap();
    std::fs::set_permissions(&saved, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.run(&["plan", "--out", "saved.plan"]).expect(0);
    let mode = std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
}

#[test]
fn diff_reads_a_user_data_file_beside_each_plan_file() {
    // A base revision checked out beside the head: each plan names its own
    // boot.sh, relative to itself.
    let dir = tempfile::tempdir().unwrap();
    let plan = crate::harness::plan_toml("ami-1", "0s").replace(
        "security_groups = [\"sg-0123\"]",
        "security_groups = [\"sg-0123\"]\nuser_data_file = \"boot.sh\"",
    );
    for (side, last) in [("base", "echo two"), ("head", "echo three")] {
        let d = dir.path().join(side);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("shop.toml"), &plan).unwrap();
        std::fs::write(d.join("boot.sh"), format!("#!/bin/sh\necho one\n{last}\n")).unwrap();
    }
    let run = crate::harness::cutover(
        &["diff", "base/shop.toml", "head/shop.toml"],
        &[],
        dir.path(),
    );
    run.expect(2);
    assert!(
        run.stdout.contains("- echo two") && run.stdout.contains("+ echo three"),
        "{}",
        run.stdout
    );
}

//! Plan files as users get them wrong: a corpus of invalid plans, each with
//! its expected messages as a golden file, and a property test that no input
//! makes the parser panic or fail without saying where and why.

use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("tests/invalid")
        .expect("tests/invalid")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_invalid_plan_is_rejected_with_its_golden_messages() {
    let files = corpus();
    assert!(files.len() >= 40, "the corpus has {} plans", files.len());
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let err = match cutover::spec::load(&file) {
            Ok(_) => panic!("{} was accepted", file.display()),
            Err(e) => e,
        };
        for d in &err.diagnostics {
            assert!(d.line >= 1 && d.col >= 1, "{name}: {d}");
        }
        insta::assert_snapshot!(name, err.to_string());
    }
}

#[test]
fn three_unrelated_mistakes_are_all_reported_with_their_lines() {
    let err =
        cutover::spec::load(Path::new("tests/invalid/three-unrelated-mistakes.toml")).unwrap_err();
    let places: Vec<(usize, &str)> = err
        .diagnostics
        .iter()
        .map(|d| (d.line, d.message.as_str()))
        .collect();
    assert_eq!(places.len(), 3, "{err}");
    assert!(places[0].1.contains("interval"), "{err}");
    assert!(places[1].1.contains("instanse_type"), "{err}");
    assert!(places[2].1.contains("step 25%"), "{err}");
}

#[test]
fn the_examples_are_valid() {
    for plan in [
        "plans/demo.toml",
        "plans/minimal.toml",
        "plans/full.toml",
        "plans/expand-contract.toml",
    ] {
        if let Err(e) = cutover::spec::load(Path::new(plan)) {
            panic!("{plan}:\n{e}");
        }
    }
}

/// Every failure names the file, a line and a column, and says something.
fn assert_explained(result: Result<cutover::spec::Spec, cutover::spec::PlanFileError>) {
    if let Err(e) = result {
        assert!(!e.diagnostics.is_empty());
        for d in &e.diagnostics {
            assert!(d.line >= 1 && d.col >= 1, "{d}");
            assert!(!d.message.trim().is_empty());
        }
        assert!(e.to_string().contains("fuzz.toml:"));
    }
}

const VALID: &str = include_str!("../../plans/full.toml");

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        assert_explained(cutover::spec::parse_bytes(Path::new("fuzz.toml"), &bytes));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        assert_explained(cutover::spec::parse(Path::new("fuzz.toml"), &text));
    }

    #[test]
    fn mutated_plans_never_panic(
        edits in proptest::collection::vec((0u8..5, any::<prop::sample::Index>(), "[ -~\\n]{0,12}"), 1..6)
    ) {
        let mut lines: Vec<String> = VALID.lines().map(str::to_string).collect();
        for (kind, at, text) in edits {
            if lines.is_empty() {
                break;
            }
            let i = at.index(lines.len());
            match kind {
                0 => { lines.remove(i); }
                1 => { let l = lines[i].clone(); lines.insert(i, l); }
                2 => lines[i] = text,
                3 => { let l = &mut lines[i]; let cut = at.index(l.len() + 1); let mut b = l.as_bytes()[..cut].to_vec(); b.extend(text.bytes()); b.extend(&l.as_bytes()[cut..]); *l = String::from_utf8_lossy(&b).into_owned(); }
                _ => lines.truncate(i),
            }
        }
        assert_explained(cutover::spec::parse(Path::new("fuzz.toml"), &lines.join("\n")));
    }
}

/// Every key in the schema says what it is, and every optional key says its
/// default (or that it is optional with none): what editors show on hover.
#[test]
fn every_schema_key_has_a_description_and_a_default() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("schemas/plan.schema.json").unwrap())
            .unwrap();
    let resolve = |n: &serde_json::Value| -> serde_json::Value {
        match n.get("$ref").and_then(|r| r.as_str()) {
            Some(r) => schema["$defs"][r.rsplit('/').next().unwrap()].clone(),
            None => n.clone(),
        }
    };
    let mut missing = Vec::new();
    let mut stack = vec![(String::new(), schema.clone())];
    while let Some((path, node)) = stack.pop() {
        let node = resolve(&node);
        if let Some(items) = node.get("items") {
            stack.push((path.clone(), items.clone()));
        }
        let Some(props) = node.get("properties").and_then(|p| p.as_object()) else {
            continue;
        };
        let required: Vec<&str> = node["required"]
            .as_array()
            .map(|r| r.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        for (k, v) in props {
            let target = resolve(v);
            let description = v
                .get("description")
                .or(target.get("description"))
                .and_then(|d| d.as_str())
                .unwrap_or("");
            let has_default = v.get("default").is_some() || target.get("default").is_some();
            if description.is_empty() {
                missing.push(format!("{path}{k}: no description"));
            }
            if !required.contains(&k.as_str()) && !has_default && !description.contains("ptional") {
                missing.push(format!("{path}{k}: no default"));
            }
            stack.push((format!("{path}{k}."), v.clone()));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

/// The invalid plans whose mistake a JSON Schema can express: an editor with
/// the schema flags each of them as the parser does. (The others break rules
/// across keys — ascending steps, timeout below interval — that only
/// `cutover validate` checks.)
const SCHEMA_REJECTS: &[&str] = &[
    "root-volume-type-not-bootable",
    "algorithm-unknown",
    "app-name-empty",
    "app-name-too-long",
    "app-name-underscore",
    "app-name-uppercase",
    "custom-stat-unknown",
    "desired-zero",
    "duration-as-number",
    "duration-in-words",
    "duration-milliseconds",
    "duration-without-unit",
    "empty-file",
    "healthy-threshold-too-low",
    "hook-empty-command",
    "instance-type-and-types",
    "instance-type-missing",
    "listener-role-unknown",
    "matcher-5xx",
    "matcher-not-codes",
    "metric-min-requests-zero",
    "metric-percentile-out-of-range",
    "metric-ratio-below-one",
    "metric-unknown",
    "missing-required-key",
    "missing-table",
    "on-no-evidence-unknown",
    "path-without-slash",
    "port-too-big",
    "port-zero",
    "protocol-lowercase",
    "protocol-unknown",
    "rule-priority-out-of-range",
    "rule-without-hosts-or-paths",
    "security-groups-empty",
    "size-as-string",
    "smoke-empty-command",
    "smoke-expect-status-out-of-range",
    "smoke-timeout-not-a-duration",
    "smoke-url-without-scheme",
    "ssm-parameter-relative",
    "ssm-parameter-spaces",
    "steps-empty",
    "steps-not-numbers",
    "steps-over-100",
    "steps-zero",
    "subnets-empty",
    "subnets-not-a-list",
    "table-where-value-expected",
    "target-group-port-negative",
    "teardown-delay-not-a-duration",
    "teardown-policy-unknown",
    "three-unrelated-mistakes",
    "unhealthy-threshold-too-high",
    "unknown-key-in-app",
    "unknown-key-in-inline-table",
    "unknown-key-misspelt",
    "unknown-table",
    "webhook-env-is-a-url",
];

/// Validates TOML files against the committed schema with Python's
/// `jsonschema` (installed beside moto by scripts/test); returns the number
/// of schema errors per file.
fn schema_errors(files: &[String]) -> Vec<usize> {
    let python = match std::env::var_os("CUTOVER_MOTO_SERVER") {
        Some(moto) => Path::new(&moto).with_file_name("python"),
        None => Path::new(".venv/bin/python").to_path_buf(),
    };
    let script = r#"
import json, sys, tomllib, jsonschema
schema = json.load(open("schemas/plan.schema.json"))
v = jsonschema.Draft202012Validator(schema)
for f in sys.argv[1:]:
    print(len(list(v.iter_errors(tomllib.load(open(f, "rb"))))))
"#;
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(files)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run scripts/test, which installs it",
                python.display()
            )
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

#[test]
fn the_schema_rejects_what_the_parser_rejects_where_a_schema_can_say_it() {
    let examples: Vec<String> = ["demo", "minimal", "full"]
        .iter()
        .map(|p| format!("plans/{p}.toml"))
        .collect();
    assert_eq!(
        schema_errors(&examples),
        vec![0, 0, 0],
        "the examples are valid for editors too"
    );
    let invalid: Vec<String> = SCHEMA_REJECTS
        .iter()
        .map(|n| format!("tests/invalid/{n}.toml"))
        .collect();
    let counts = schema_errors(&invalid);
    let accepted: Vec<&&str> = SCHEMA_REJECTS
        .iter()
        .zip(&counts)
        .filter(|(_, n)| **n == 0)
        .map(|(f, _)| f)
        .collect();
    assert!(accepted.is_empty(), "the schema accepts {accepted:?}");
}

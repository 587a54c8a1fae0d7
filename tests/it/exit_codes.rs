//! The exit-code contract, command by command (README "Exit codes",
//! `cutover --help`): 0 done, 1 error, 2 changes pending, 3 a deployment
//! aborted with production back on the colour it started from.

use crate::harness::cutover;
use crate::scenario::{Scenario, V2};

#[test]
fn validate_schema_and_usage() {
    let s = Scenario::sandbox().run(&["validate"]).exits(0);
    let dir = s.cloud.dir.path();
    std::fs::write(dir.join("bad.toml"), "[app]\nname = \"Shop!\"\n").unwrap();
    cutover(&["validate", "bad.toml"], &[], dir).expect(1);
    cutover(&["schema"], &[], dir).expect(0);
    cutover(&["schema", "--plan-output"], &[], dir).expect(0);
    cutover(&["no-such-command"], &[], dir).expect(1);
    cutover(&["--help"], &[], dir).expect(0);
}

#[test]
fn diff_is_0_when_the_same_2_when_different_1_on_error() {
    let s = Scenario::sandbox().run(&["validate"]).exits(0).release(V2);
    let dir = s.cloud.dir.path();
    std::fs::write(dir.join("v2.toml"), s.plan_text()).unwrap();
    cutover(&["diff", "shop.toml", "shop.toml"], &[], dir).expect(0);
    cutover(&["diff", "shop.toml", "v2.toml"], &[], dir).expect(2);
    cutover(&["diff", "shop.toml", "missing.toml"], &[], dir).expect(1);
}

#[test]
fn plan_status_and_drift() {
    Scenario::sandbox()
        .run(&["plan"])
        .exits(0)
        .run(&["plan", "--detailed-exitcode"])
        .exits(2)
        .apply()
        .exits(0)
        .run(&["plan", "--detailed-exitcode"])
        .exits(0)
        .run(&["status"])
        .exits(0)
        .run(&["drift"])
        .exits(0)
        .with("[bogus]\n")
        .run(&["plan"])
        .exits(1)
        .run(&["status"])
        .exits(1)
        .run(&["drift"])
        .exits(1);
    let s = Scenario::sandbox().apply().exits(0);
    s.cloud.edit(|w| {
        let l = w.listeners.values_mut().find(|l| l.port == 80).unwrap();
        for (_, weight) in l.forward.iter_mut() {
            *weight = 50;
        }
    });
    s.run(&["drift"]).exits(2);
}

#[test]
fn apply_is_0_converged_3_aborted_home_1_error() {
    Scenario::sandbox()
        .run(&["apply"])
        .exits(1)
        .says("stdin is not a terminal")
        .apply()
        .exits(0)
        .unhealthy(V2)
        .release(V2)
        .apply()
        .exits(3)
        .says("green was not healthy within 10m")
        .traffic(100, 0)
        .active("blue");
    Scenario::sandbox()
        .apply()
        .exits(0)
        .release(V2)
        .gate_fails_at(25)
        .apply()
        .exits(3)
        .says("gate failed on green at 25%")
        .traffic(100, 0)
        .active("blue");
}

#[test]
fn a_held_lock_is_1_until_unlock() {
    let s = Scenario::sandbox().apply().exits(0);
    s.cloud.edit(|w| {
        w.parameters.insert(
            "/cutover/shop/active-lock".into(),
            cutover::provider::sandbox::SbParameter {
                value: r#"{"user":"bob","host":"elsewhere","pid":7,"command":"cutover apply","started":0}"#.into(),
                modified_ms: 0,
                version: 1,
                older: vec![],
            },
        );
    });
    s.release(V2)
        .apply()
        .exits(1)
        .says("locked by bob@elsewhere")
        .run(&["rollback"])
        .exits(1)
        .run(&["unlock"])
        .exits(1)
        .run(&["unlock", "--yes"])
        .exits(0)
        .run(&["unlock"])
        .exits(0)
        .says("is not locked");
}

#[test]
fn promote_has_the_same_contract_as_apply() {
    Scenario::sandbox()
        .manual_promotion()
        .apply()
        .exits(0)
        .run(&["promote"])
        .exits(1)
        .says("nothing waits for promotion")
        .release(V2)
        .apply()
        .exits(0)
        .says("Paused: green is built")
        .traffic(100, 0)
        .gate_fails_at(25)
        .run(&["promote"])
        .exits(3)
        .says("gate failed on green at 25%")
        .traffic(100, 0)
        .active("blue");
    Scenario::sandbox()
        .manual_promotion()
        .apply()
        .release(V2)
        .apply()
        .run(&["promote"])
        .exits(0)
        .traffic(0, 100)
        .active("green");
}

#[test]
fn rollback_is_0_done_1_refused() {
    Scenario::sandbox()
        .run(&["rollback"])
        .exits(1)
        .says("nothing to roll back")
        .apply()
        .run(&["rollback"])
        .exits(1)
        .teardown("30m")
        .release(V2)
        .apply()
        .exits(0)
        .traffic(0, 100)
        .run(&["rollback"])
        .exits(0)
        .says("Rolled back shop: 100% of production on blue")
        .traffic(100, 0)
        .active("blue");
}

//! Planner tables: (plan file, observed state) → the steps apply would run.

use cutover::decide::planner::plan;
use cutover::model::observed::{
    Active, Fleet, LaunchTemplate, LaunchTemplateVersion, Listener, LoadBalancer, Observed,
    TargetGroup, TargetHealth,
};
use cutover::model::plan::{Action, PlanKind};
use cutover::model::{Capacity, Color, HealthCheck, Protocol};
use cutover::spec::Spec;

fn spec(image: &str, delay: &str) -> Spec {
    cutover::spec::parse(
        std::path::Path::new("shop.toml"),
        &crate::harness::plan_toml(image, delay),
    )
    .expect("valid")
}

fn hc() -> HealthCheck {
    spec("ami-1", "0s").target_group.health_check
}

fn tg(c: Color, healthy: usize) -> TargetGroup {
    TargetGroup {
        arn: format!("arn:tg/{c}").into(),
        name: format!("shop-{c}"),
        port: 8080,
        protocol: Protocol::Http,
        vpc_id: "vpc-0test".into(),
        health_check: hc(),
        attributes: cutover::model::TgAttributes {
            deregistration_delay_secs: 30,
            ..Default::default()
        },
        contract_pending: None,
        held_by: None,
        targets: (0..healthy)
            .map(|i| TargetHealth {
                id: format!("i-{c}{i}"),
                state: cutover::model::observed::TargetState::Healthy,
                reason: None,
                description: None,
            })
            .collect(),
        load_balancers: vec![],
    }
}

fn fleet(c: Color, release: &str, version: i64, desired: u32) -> Fleet {
    Fleet {
        name: format!("shop-{c}").into(),
        capacity: Capacity {
            min: if desired == 0 { 0 } else { 2 },
            max: if desired == 0 { 0 } else { 4 },
            desired,
        },
        launch_template_version: Some(version),
        release: Some(release.into()),
        subnets: vec!["subnet-a".into(), "subnet-b".into()],
        instances: (0..desired).map(|i| format!("i-{c}{i}")).collect(),
        older: vec![],
        target_groups: if desired == 0 {
            vec![]
        } else {
            vec![format!("arn:tg/{c}").into()]
        },
        rolled_back: None,
        rolled_back_why: None,
        held: None,
        held_why: None,
        held_by: None,
        spot: false,
        instance_types: vec![],
        on_demand_base: 0,
        capacity_rebalance: false,
        health_check_grace_secs: 300,
        warmup_secs: None,
        scaling: None,
    }
}

fn listener(port: u16, blue: u32, green: u32) -> Listener {
    Listener {
        arn: format!("arn:listener/{port}").into(),
        port,
        protocol: Protocol::Http,
        certificate_arn: None,
        forward: vec![("arn:tg/blue".into(), blue), ("arn:tg/green".into(), green)],
        affinity_secs: 0,
        kept_actions: vec![],
        tags: None,
    }
}

/// blue live with `ami-1`, green absent.
fn live_on_blue() -> Observed {
    let r1 = spec("ami-1", "0s").release();
    Observed {
        now: 1_000_000,
        load_balancer: Some(LoadBalancer {
            arn: "arn:lb".into(),
            dns_name: "lb.example".into(),
        }),
        listeners: vec![listener(80, 100, 0), listener(8080, 100, 0)],
        target_groups: cutover::model::PerColor {
            blue: Some(tg(Color::Blue, 2)),
            green: Some(tg(Color::Green, 0)),
        },
        launch_template: Some(LaunchTemplate {
            id: "lt-1".into(),
            versions: vec![LaunchTemplateVersion {
                number: 1,
                fingerprint: Some(r1.fingerprint.clone()),
                data: r1.data.clone(),
            }],
        }),
        fleets: cutover::model::PerColor {
            blue: Some(fleet(Color::Blue, &r1.fingerprint, 1, 2)),
            green: None,
        },
        active: Some(Active {
            color: Color::Blue,
            since: 900_000,
        }),
        lock: None,
        previous: None,
        ..Observed::default()
    }
}

/// A compact name per step, so tables read like the lifecycle.
fn names(obs: &Observed, s: &Spec) -> Vec<String> {
    plan(s, obs)
        .expect("plans")
        .steps
        .iter()
        .map(|st| match &st.action {
            Action::CreateTargetGroup { color, .. } => format!("create-tg {color}"),
            Action::UpdateTargetGroup { color, .. } => format!("update-tg {color}"),
            Action::CreateLaunchTemplateVersion { .. } => "lt-version".into(),
            Action::RecycleFleet { color } => format!("recycle {color}"),
            Action::EnsureFleet { color, .. } => format!("fleet {color}"),
            Action::SetCapacity { color, capacity } => {
                format!("capacity {color} {}", capacity.desired)
            }
            Action::WaitHealthy { color, .. } => format!("wait {color}"),
            Action::EnsureListener { config, weights } => format!(
                "listener {} {}/{}",
                config.port, weights.blue, weights.green
            ),
            Action::SetWeights { weights, .. } => {
                format!("weights {}/{}", weights.blue, weights.green)
            }
            Action::Bake { weight, .. } => format!("bake {weight}"),
            Action::Watch { color, .. } => format!("watch {color}"),
            Action::Smoke { color, .. } => format!("smoke {color}"),
            Action::Hook { phase, .. } => format!("hook {}", phase.as_str()),
            Action::MarkContractPending { color, .. } => format!("mark {color}"),
            Action::AwaitPromotion { color } => format!("await {color}"),
            Action::RecordActive { color, .. } => format!("active {color}"),
            Action::RecordPrevious { record } => format!("previous {}", record.color),
            Action::DetachFleet { color } => format!("detach {color}"),
            Action::WaitDrain { .. } => "drain".into(),
            Action::ScaleToZero { color } => format!("zero {color}"),
            Action::DeleteFleet { color } => format!("delete {color}"),
            Action::Flip { to, .. } => format!("flip {to}"),
            Action::RememberRolledBack { color, .. } => format!("remember {color}"),
            Action::ClearRolledBack { color } => format!("clear {color}"),
            Action::DeleteRule { port } => format!("delete rule :{port}"),
            Action::TagListener { port, role } => format!("tag :{port} {role}"),
            Action::DeleteListener { port, .. } => format!("delete listener :{port}"),
            Action::SetScaling { color, scaling } => {
                format!("scaling {color} {}", scaling.is_some())
            }
        })
        .collect()
}

/// blue live with ami-1, green at 25% with ami-2.
fn midshift_on_green() -> Observed {
    let mut obs = live_on_blue();
    let release2 = spec("ami-2", "0s").release();
    let r2 = release2.fingerprint.clone();
    obs.launch_template
        .as_mut()
        .unwrap()
        .versions
        .push(LaunchTemplateVersion {
            number: 2,
            fingerprint: Some(r2.clone()),
            data: release2.data.clone(),
        });
    obs.fleets.green = Some(fleet(Color::Green, &r2, 2, 2));
    obs.target_groups.green = Some(tg(Color::Green, 2));
    obs.listeners = vec![listener(80, 75, 25), listener(8080, 0, 100)];
    obs
}

#[test]
fn lifecycle_tables() {
    let first = Observed {
        now: 0,
        load_balancer: Some(LoadBalancer {
            arn: "arn:lb".into(),
            dns_name: "lb".into(),
        }),
        ..Observed::default()
    };
    let mut midshift = live_on_blue();
    let release2 = spec("ami-2", "0s").release();
    let r2 = release2.fingerprint.clone();
    midshift
        .launch_template
        .as_mut()
        .unwrap()
        .versions
        .push(LaunchTemplateVersion {
            number: 2,
            fingerprint: Some(r2.clone()),
            data: release2.data.clone(),
        });
    midshift.fleets.green = Some(fleet(Color::Green, &r2, 2, 2));
    midshift.target_groups.green = Some(tg(Color::Green, 2));
    midshift.listeners = vec![listener(80, 75, 25), listener(8080, 0, 100)];

    let mut stale_inflight = midshift.clone();
    stale_inflight.fleets.green = Some(fleet(Color::Green, "oldrelease00", 2, 2));

    let mut lost_parameter = live_on_blue();
    lost_parameter.active = None;

    let mut foreign = live_on_blue();
    foreign.listeners[0]
        .forward
        .push(("arn:tg/someone-elses".into(), 5));

    let mut active_fleet_gone = live_on_blue();
    active_fleet_gone.fleets.blue = None;
    active_fleet_gone.target_groups.blue = Some(tg(Color::Blue, 0));

    let mut test_on_idle = live_on_blue();
    test_on_idle.listeners[1] = listener(8080, 0, 100);

    let mut split_no_parameter = midshift_on_green();
    split_no_parameter.active = None;

    let cases: Vec<(&str, Observed, Spec, Vec<&str>)> = vec![
        (
            "a hand-added target group on production is removed",
            foreign,
            spec("ami-1", "0s"),
            vec!["listener 80 100/0"],
        ),
        (
            "the active fleet is gone: rebuilt in place, no blue-green from a dead colour",
            active_fleet_gone,
            spec("ami-2", "0s"),
            vec!["lt-version", "fleet blue", "wait blue"],
        ),
        (
            "the test listener follows the active colour",
            test_on_idle,
            spec("ami-1", "0s"),
            vec!["listener 8080 100/0"],
        ),
        (
            "parameter lost mid-shift: the colour not running the plan's release was live",
            split_no_parameter,
            spec("ami-2", "0s"),
            vec![
                "active blue",
                "wait green",
                "bake 25",
                "weights 50/50",
                "bake 50",
                "weights 0/100",
                "bake 100",
                "previous blue",
                "active green",
                "detach blue",
                "drain",
                "zero blue",
            ],
        ),
        (
            "first deploy: everything, all on blue, recorded",
            first,
            spec("ami-1", "0s"),
            vec![
                "create-tg blue",
                "create-tg green",
                "lt-version",
                "fleet blue",
                "wait blue",
                "listener 8080 100/0",
                "listener 80 100/0",
                "active blue",
            ],
        ),
        ("nothing to do", live_on_blue(), spec("ami-1", "0s"), vec![]),
        (
            "new release: build green, shift, promote, tear blue down now",
            live_on_blue(),
            spec("ami-2", "0s"),
            vec![
                "lt-version",
                "fleet green",
                "wait green",
                "listener 8080 0/100",
                "weights 90/10",
                "bake 10",
                "weights 75/25",
                "bake 25",
                "weights 50/50",
                "bake 50",
                "weights 0/100",
                "bake 100",
                "previous blue",
                "active green",
                "detach blue",
                "drain",
                "zero blue",
            ],
        ),
        (
            "new release with a rollback window: no teardown yet",
            live_on_blue(),
            spec("ami-2", "30m"),
            vec![
                "lt-version",
                "fleet green",
                "wait green",
                "listener 8080 0/100",
                "weights 90/10",
                "bake 10",
                "weights 75/25",
                "bake 25",
                "weights 50/50",
                "bake 50",
                "weights 0/100",
                "bake 100",
                "previous blue",
                "active green",
            ],
        ),
        (
            "interrupted at 25%: re-bake 25, continue at 50",
            midshift,
            spec("ami-2", "0s"),
            vec![
                "wait green",
                "bake 25",
                "weights 50/50",
                "bake 50",
                "weights 0/100",
                "bake 100",
                "previous blue",
                "active green",
                "detach blue",
                "drain",
                "zero blue",
            ],
        ),
        (
            "traffic on an abandoned release: take it back, recycle, start over",
            stale_inflight,
            spec("ami-2", "30m"),
            vec![
                "weights 100/0",
                "recycle green",
                "fleet green",
                "wait green",
                "weights 90/10",
                "bake 10",
                "weights 75/25",
                "bake 25",
                "weights 50/50",
                "bake 50",
                "weights 0/100",
                "bake 100",
                "previous blue",
                "active green",
            ],
        ),
        (
            "lost active parameter: inferred from the listener and recorded",
            lost_parameter,
            spec("ami-1", "0s"),
            vec!["active blue"],
        ),
    ];
    for (name, obs, s, want) in cases {
        assert_eq!(names(&obs, &s), want, "{name}");
    }
}

#[test]
fn teardown_becomes_a_change_only_once_due() {
    let mut obs = live_on_blue();
    let r2 = spec("ami-2", "30m").release().fingerprint;
    // green promoted at t=900000 with release 2; blue still running.
    obs.active = Some(Active {
        color: Color::Green,
        since: 900_000,
    });
    obs.listeners = vec![listener(80, 0, 100), listener(8080, 0, 100)];
    obs.fleets.green = Some(fleet(Color::Green, &r2, 2, 2));
    obs.target_groups.green = Some(tg(Color::Green, 2));
    obs.now = 900_000 + 29 * 60;
    let s = spec("ami-2", "30m");
    let p = plan(&s, &obs).unwrap();
    assert!(!p.has_changes());
    assert!(
        p.notes.iter().any(|n| matches!(
            n,
            cutover::model::plan::Note::TeardownNotDue {
                color: Color::Blue,
                due: cutover::model::plan::TeardownDue::At { in_secs: 60, .. },
                ..
            }
        )),
        "{:?}",
        p.notes
    );
    obs.now = 900_000 + 31 * 60;
    assert_eq!(names(&obs, &s), vec!["detach blue", "drain", "zero blue"]);
}

#[test]
fn rollback_targets() {
    let s = spec("ami-2", "30m");
    // After promotion: back to the previous colour, and record it.
    let mut obs = live_on_blue();
    obs.fleets.green = Some(fleet(Color::Green, "r2", 2, 2));
    obs.target_groups.green = Some(tg(Color::Green, 2));
    obs.active = Some(Active {
        color: Color::Green,
        since: 1,
    });
    obs.listeners = vec![listener(80, 0, 100)];
    let r = cutover::decide::rollback::rollback(&s, &obs).unwrap();
    assert_eq!((r.to, r.record_active.is_some()), (Color::Blue, true));
    // Mid-shift: back to the still-active colour, no parameter change.
    obs.active = Some(Active {
        color: Color::Blue,
        since: 1,
    });
    obs.listeners = vec![listener(80, 50, 50)];
    let r = cutover::decide::rollback::rollback(&s, &obs).unwrap();
    assert_eq!((r.to, r.record_active.is_some()), (Color::Blue, false));
    // Old colour gone: refuse.
    obs.active = Some(Active {
        color: Color::Green,
        since: 1,
    });
    obs.listeners = vec![listener(80, 0, 100)];
    obs.target_groups.blue = Some(tg(Color::Blue, 0));
    assert!(cutover::decide::rollback::rollback(&s, &obs).is_err());
}

#[test]
fn a_rollback_goes_only_to_the_apps_own_healthy_instances() {
    let s = spec("ami-2", "30m");
    // Green live; blue's target group has two healthy targets, but blue
    // has no fleet of the app's: someone else's group of that name, or
    // targets registered by hand.
    let mut obs = live_on_blue();
    obs.fleets.green = Some(fleet(Color::Green, "r2", 2, 2));
    obs.target_groups.green = Some(tg(Color::Green, 2));
    obs.active = Some(Active {
        color: Color::Green,
        since: 1,
    });
    obs.listeners = vec![listener(80, 0, 100)];
    assert_eq!(
        cutover::decide::rollback::rollback(&s, &obs).unwrap().to,
        Color::Blue
    );
    let ours = obs.fleets.blue.clone();
    obs.fleets.blue = None;
    let refused = cutover::decide::rollback::rollback(&s, &obs).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("none of its 2 targets is healthy (it has no fleet)"),
        "{refused}"
    );
    // A group of blue's name whose tags say it is another app's.
    obs.fleets.blue = ours.map(|f| Fleet {
        held_by: Some("its tags say cutover:app=web cutover:color=blue".into()),
        ..f
    });
    let refused = cutover::decide::rollback::rollback(&s, &obs).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("the Auto Scaling group of its name is not the app's"),
        "{refused}"
    );
}

#[test]
fn plan_kinds_say_what_kind_of_change_it_is() {
    let p = plan(&spec("ami-2", "0s"), &live_on_blue()).unwrap();
    assert!(matches!(
        p.kind,
        PlanKind::Release {
            from: Color::Blue,
            to: Color::Green,
            resume_at: None,
            ..
        }
    ));
    assert_eq!(p.rollback_to, Some(Color::Blue));
    let p = plan(&spec("ami-1", "0s"), &live_on_blue()).unwrap();
    assert_eq!(p.kind, PlanKind::NoChanges);
}

#[test]
fn a_colour_whose_tags_say_it_is_someone_elses_stops_the_plan() {
    let s = spec("ami-2", "0s");
    let mut obs = live_on_blue();
    obs.target_groups.green.as_mut().unwrap().held_by =
        Some("it has no cutover tags: someone made it by hand or with another tool".into());
    let err = cutover::decide::planner::plan(&s, &obs).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("target group shop-green has the name cutover gives shop's green colour, but it has no cutover tags"),
        "{err}"
    );

    let mut obs = live_on_blue();
    obs.fleets.blue.as_mut().unwrap().held_by =
        Some("its tags say cutover:app=web cutover:color=blue".into());
    let err = cutover::decide::planner::plan(&s, &obs).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "Auto Scaling group shop-blue has the name cutover gives shop's blue colour, but its tags say cutover:app=web"
        ),
        "{err}"
    );
    // Drift says so, for a person: apply does not repair it.
    let drift = cutover::decide::drift::drift(&s, &obs);
    assert_eq!(drift.findings.len(), 1);
    assert!(!drift.findings[0].apply_repairs);
}

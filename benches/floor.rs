//! The floor the benchmarks compare cutover with: a minimal program on the
//! same AWS SDK that makes only the calls that cannot be avoided, with the
//! same concurrency as cutover, and nothing else (no plan file, no lock, no
//! state, no output beyond a count).
//!
//!   floor rollback LB PORT BLUE_TG GREEN_TG
//!       Find the listener, flip its forward to the other target group:
//!       DescribeLoadBalancers ‖ DescribeTargetGroups, DescribeListeners,
//!       ModifyListener (3 round trips).
//!   floor observe N [health] [settings] [launch]
//!       Read apps app0…app{N-1} (load balancer appI-alb, target groups and
//!       groups appI-blue / appI-green, launch template appI, parameters
//!       /cutover/appI/active, -lock, -previous) with the fewest calls the
//!       APIs allow: what `cutover status` (health, launch) and `cutover
//!       drift` (settings, launch) need to read.
//!
//! Built by `cargo build --release --bench floor`; run by the scripts in
//! benches/. Prints the number of calls it made.

use aws_sdk_autoscaling as asg;
use aws_sdk_ec2 as ec2;
use aws_sdk_elasticloadbalancingv2 as elb;
use aws_sdk_ssm as ssm;
use futures::{StreamExt, TryStreamExt};
use std::sync::atomic::{AtomicUsize, Ordering};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// cutover's fan-out: calls of one kind in flight at once.
const FAN_OUT: usize = 8;

static CALLS: AtomicUsize = AtomicUsize::new(0);

fn call() {
    CALLS.fetch_add(1, Ordering::Relaxed);
}

async fn fan_out<T, F: std::future::Future<Output = Res<T>>>(calls: Vec<F>) -> Res<Vec<T>> {
    futures::stream::iter(calls)
        .buffered(FAN_OUT)
        .try_collect()
        .await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let elb = elb::Client::new(&conf);
    match args.first().map(String::as_str) {
        Some("rollback") => rollback(&elb, &args[1], args[2].parse()?, &args[3], &args[4]).await?,
        Some("observe") => {
            let has = |f: &str| args.iter().any(|a| a == f);
            let clients = (
                elb,
                asg::Client::new(&conf),
                ec2::Client::new(&conf),
                ssm::Client::new(&conf),
            );
            observe(&clients, args[1].parse()?, has("health"), has("settings"), has("launch"))
                .await?
        }
        _ => return Err("usage: floor rollback LB PORT BLUE GREEN | floor observe N [health] [settings] [launch]".into()),
    }
    println!("{} calls", CALLS.load(Ordering::Relaxed));
    Ok(())
}

async fn rollback(elb: &elb::Client, lb: &str, port: i32, blue: &str, green: &str) -> Res<()> {
    call();
    call();
    let (lbs, tgs) = futures::join!(
        elb.describe_load_balancers().names(lb).send(),
        elb.describe_target_groups().names(blue).names(green).send(),
    );
    let (lbs, tgs) = (lbs?, tgs?);
    let lb_arn = lbs.load_balancers()[0]
        .load_balancer_arn()
        .unwrap_or_default();
    call();
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(lb_arn)
        .send()
        .await?;
    let listener = listeners
        .listeners()
        .iter()
        .find(|l| l.port() == Some(port))
        .ok_or("no listener")?;
    let action = &listener.default_actions()[0];
    let serving = action
        .forward_config()
        .and_then(|f| f.target_groups().iter().find(|t| t.weight() == Some(100)))
        .and_then(|t| t.target_group_arn())
        .or(action.target_group_arn())
        .unwrap_or_default();
    let other = tgs
        .target_groups()
        .iter()
        .filter_map(|t| t.target_group_arn())
        .find(|a| *a != serving)
        .ok_or("no other target group")?;
    let forward = elb::types::ForwardActionConfig::builder()
        .target_groups(
            elb::types::TargetGroupTuple::builder()
                .target_group_arn(other)
                .weight(100)
                .build(),
        )
        .target_groups(
            elb::types::TargetGroupTuple::builder()
                .target_group_arn(serving)
                .weight(0)
                .build(),
        )
        .build();
    call();
    elb.modify_listener()
        .listener_arn(listener.listener_arn().unwrap_or_default())
        .default_actions(
            elb::types::Action::builder()
                .r#type(elb::types::ActionTypeEnum::Forward)
                .forward_config(forward)
                .build(),
        )
        .send()
        .await?;
    Ok(())
}

type Clients = (elb::Client, asg::Client, ec2::Client, ssm::Client);

/// Round one by name, batched; round two per load balancer, per target
/// group, and one `$Latest` across the region's templates.
async fn observe(c: &Clients, n: usize, health: bool, settings: bool, launch: bool) -> Res<()> {
    let (elb, asg, ec2, ssm) = c;
    let apps: Vec<String> = (0..n).map(|i| format!("app{i}")).collect();
    let lbs: Vec<String> = apps.iter().map(|a| format!("{a}-alb")).collect();
    let colours: Vec<String> = apps
        .iter()
        .flat_map(|a| [format!("{a}-blue"), format!("{a}-green")])
        .collect();
    let params: Vec<String> = apps
        .iter()
        .flat_map(|a| {
            let p = format!("/cutover/{a}/active");
            [format!("{p}-lock"), format!("{p}-previous"), p]
        })
        .collect();
    let lb_calls = lbs.chunks(20).map(|names| async move {
        call();
        let out = elb
            .describe_load_balancers()
            .set_names(Some(names.to_vec()))
            .send()
            .await?;
        Ok(out.load_balancers().to_vec())
    });
    let tg_calls = async {
        let mut tgs = Vec::new();
        let mut marker = None;
        loop {
            call();
            let page = elb
                .describe_target_groups()
                .page_size(400)
                .set_marker(marker)
                .send()
                .await?;
            tgs.extend(
                page.target_groups()
                    .iter()
                    .filter(|t| {
                        colours
                            .iter()
                            .any(|c| Some(c.as_str()) == t.target_group_name())
                    })
                    .cloned(),
            );
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                return Res::Ok(tgs);
            }
        }
    };
    let asg_calls = colours.chunks(100).map(|names| async move {
        call();
        let out = asg
            .describe_auto_scaling_groups()
            .set_auto_scaling_group_names(Some(names.to_vec()))
            .max_records(100)
            .send()
            .await?;
        Ok(out.auto_scaling_groups().len())
    });
    let policy_calls = colours
        .chunks(50)
        .filter(|_| settings)
        .map(|names| async move {
            call();
            let names = names.iter().map(|g| format!("cutover-{g}")).collect();
            let out = asg
                .describe_policies()
                .set_policy_names(Some(names))
                .send()
                .await?;
            Ok(out.scaling_policies().len())
        });
    let param_calls = params.chunks(10).map(|names| async move {
        call();
        let out = ssm
            .get_parameters()
            .set_names(Some(names.to_vec()))
            .send()
            .await?;
        Ok(out.parameters().len())
    });
    let template_calls = apps.chunks(200).filter(|_| launch).map(|names| async move {
        call();
        let filter = ec2::types::Filter::builder()
            .name("launch-template-name")
            .set_values(Some(names.to_vec()))
            .build();
        let out = ec2
            .describe_launch_templates()
            .filters(filter)
            .max_results(200)
            .send()
            .await?;
        Ok(out.launch_templates().len())
    });
    let (lbs, tgs, _, _, _, _) = futures::try_join!(
        fan_out(lb_calls.collect()),
        tg_calls,
        fan_out(asg_calls.collect()),
        fan_out(policy_calls.collect()),
        fan_out(param_calls.collect()),
        fan_out(template_calls.collect()),
    )?;
    let listener_calls = lbs.concat().into_iter().map(|lb| async move {
        call();
        let out = elb
            .describe_listeners()
            .load_balancer_arn(lb.load_balancer_arn().unwrap_or_default())
            .send()
            .await?;
        Ok(out.listeners().len())
    });
    let arns: Vec<String> = tgs
        .iter()
        .filter_map(|t| t.target_group_arn().map(str::to_string))
        .collect();
    let per_tg = arns.iter().map(|arn| async move {
        let health = async {
            if health {
                call();
                elb.describe_target_health()
                    .target_group_arn(arn)
                    .send()
                    .await?;
            }
            Res::Ok(())
        };
        let attributes = async {
            if settings {
                call();
                elb.describe_target_group_attributes()
                    .target_group_arn(arn)
                    .send()
                    .await?;
            }
            Res::Ok(())
        };
        futures::try_join!(health, attributes)?;
        Ok(())
    });
    let tag_calls = arns
        .chunks(20)
        .filter(|_| settings)
        .map(|chunk| async move {
            call();
            elb.describe_tags()
                .set_resource_arns(Some(chunk.to_vec()))
                .send()
                .await?;
            Ok(())
        });
    let versions = async {
        if launch {
            call();
            ec2.describe_launch_template_versions()
                .versions("$Latest")
                .max_results(200)
                .send()
                .await?;
        }
        Res::Ok(())
    };
    futures::try_join!(
        fan_out(listener_calls.collect()),
        fan_out(per_tg.collect()),
        fan_out(tag_calls.collect()),
        versions,
    )?;
    Ok(())
}

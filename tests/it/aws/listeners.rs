//! Listeners shared with what others configured on them: cutover moves its
//! weights and leaves everything else as it found it.

use super::Aws;
use aws_sdk_elasticloadbalancingv2 as elb;

impl Aws {
    /// Listener `port`'s default actions, in the order the load balancer
    /// runs them.
    fn default_actions(&self, port: i32) -> Vec<elb::types::Action> {
        let mut actions = self.listener(port).default_actions().to_vec();
        actions.sort_by_key(|a| a.order().unwrap_or(i32::MAX));
        actions
    }

    /// Puts an OIDC login in front of listener `port`'s forward, as a team
    /// does by hand or with its own tooling.
    fn add_oidc_login(&self, port: i32) {
        let mut actions = self.default_actions(port);
        let listener = self.listener_arn(port);
        let oidc = elb::types::Action::builder()
            .r#type(elb::types::ActionTypeEnum::AuthenticateOidc)
            .order(1)
            .authenticate_oidc_config(
                elb::types::AuthenticateOidcActionConfig::builder()
                    .issuer("https://login.example.com")
                    .authorization_endpoint("https://login.example.com/authorize")
                    .token_endpoint("https://login.example.com/token")
                    .user_info_endpoint("https://login.example.com/userinfo")
                    .client_id("shop")
                    .client_secret("s3cret")
                    .build(),
            )
            .build();
        for a in &mut actions {
            a.order = Some(2);
        }
        actions.insert(0, oidc);
        self.moto
            .rt
            .block_on(
                self.moto
                    .elb
                    .modify_listener()
                    .listener_arn(listener)
                    .set_default_actions(Some(actions))
                    .send(),
            )
            .unwrap();
    }

    fn listener_arn(&self, port: i32) -> String {
        self.listener(port)
            .listener_arn()
            .expect("listener")
            .to_string()
    }
}

/// (type, issuer of an OIDC action) per default action, in order.
fn kinds(actions: &[elb::types::Action]) -> Vec<(String, Option<String>)> {
    actions
        .iter()
        .map(|a| {
            (
                a.r#type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
                a.authenticate_oidc_config()
                    .and_then(|c| c.issuer())
                    .map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn aws_weight_changes_keep_a_login_someone_put_before_the_forward() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.add_oidc_login(80);
    let login = (
        "authenticate-oidc".to_string(),
        Some("https://login.example.com".to_string()),
    );
    let expected = vec![login.clone(), ("forward".to_string(), None)];
    assert_eq!(kinds(&aws.default_actions(80)), expected);

    // A release shifts production step by step behind the login.
    let run = aws.run(&["plan"]);
    run.expect(0);
    aws.plan("ami-0000000000000002", "1h", &[]);
    let run = aws.run(&["apply", "--auto-approve"]);
    run.expect(0);
    assert_eq!(aws.weights(80), (0, 100), "{}", run.stdout);
    assert_eq!(kinds(&aws.default_actions(80)), expected);

    // A rollback is still one listener update, and keeps it too.
    let run = aws.run(&["rollback"]);
    run.expect(0);
    assert_eq!(aws.weights(80), (100, 0), "{}", run.stdout);
    assert_eq!(kinds(&aws.default_actions(80)), expected);
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
}

/// The production and test listeners of shop-alb as another team made
/// them: a fixed 404 by default, and on :80 that team's own rule.
fn shared_listeners(aws: &Aws) -> String {
    let lb = aws.lb_arn();
    aws.moto.rt.block_on(async {
        let elb = &aws.moto.elb;
        let not_found = || {
            elb::types::Action::builder()
                .r#type(elb::types::ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    elb::types::FixedResponseActionConfig::builder()
                        .status_code("404")
                        .content_type("text/plain")
                        .message_body("no such site")
                        .build(),
                )
                .build()
        };
        let mut listeners = Vec::new();
        for port in [80, 8080] {
            let l = elb
                .create_listener()
                .load_balancer_arn(&lb)
                .port(port)
                .protocol(elb::types::ProtocolEnum::Http)
                .default_actions(not_found())
                .send()
                .await
                .unwrap();
            listeners.push(l.listeners()[0].listener_arn().unwrap().to_string());
        }
        let admin = elb
            .create_target_group()
            .name("admin")
            .protocol(elb::types::ProtocolEnum::Http)
            .port(8080)
            .vpc_id(&aws.vpc)
            .send()
            .await
            .unwrap();
        let admin = admin.target_groups()[0].target_group_arn().unwrap();
        elb.create_rule()
            .listener_arn(&listeners[0])
            .priority(50)
            .conditions(
                elb::types::RuleCondition::builder()
                    .field("host-header")
                    .host_header_config(
                        elb::types::HostHeaderConditionConfig::builder()
                            .values("admin.example.com")
                            .build(),
                    )
                    .build(),
            )
            .actions(
                elb::types::Action::builder()
                    .r#type(elb::types::ActionTypeEnum::Forward)
                    .target_group_arn(admin)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        listeners[0].clone()
    })
}

/// A rule as (priority, what it forwards to: (target group name, weight)).
type RuleSeen = (String, Vec<(String, i32)>);

/// Each rule on the listener, and the listener's default action types.
fn listener_state(aws: &Aws, listener: &str) -> (Vec<RuleSeen>, Vec<String>) {
    aws.moto.rt.block_on(async {
        let elb = &aws.moto.elb;
        let rules = elb
            .describe_rules()
            .listener_arn(listener)
            .send()
            .await
            .unwrap();
        let mut out = Vec::new();
        let mut defaults = Vec::new();
        for r in rules.rules() {
            let mut forward = Vec::new();
            for a in r.actions() {
                let tgs: Vec<(String, i32)> = match a.forward_config() {
                    Some(fc) => fc
                        .target_groups()
                        .iter()
                        .map(|t| {
                            (
                                t.target_group_arn().unwrap().to_string(),
                                t.weight().unwrap_or(1),
                            )
                        })
                        .collect(),
                    None => a
                        .target_group_arn()
                        .map(|arn| vec![(arn.to_string(), 1)])
                        .unwrap_or_default(),
                };
                for (arn, w) in tgs {
                    let name = arn.split('/').nth(1).unwrap_or_default().to_string();
                    forward.push((name, w));
                }
                if r.is_default() == Some(true) {
                    defaults.push(a.r#type().unwrap().as_str().to_string());
                }
            }
            forward.sort();
            out.push((r.priority().unwrap_or_default().to_string(), forward));
        }
        out.sort();
        (out, defaults)
    })
}

/// `app`'s plan: the harness plan for this account with rules on both
/// listeners, host `<app>.example.com` at `priority`.
fn rule_plan(aws: &Aws, app: &str, priority: u32, image: &str, delay: &str) -> String {
    let toml = aws.adapt(crate::harness::plan_toml(image, delay));
    toml.replace("[app]\nname = \"shop\"", &format!("[app]\nname = \"{app}\""))
        .replace(
            "role = \"production\"\n",
            &format!("role = \"production\"\nrule = {{ priority = {priority}, hosts = [\"{app}.example.com\"] }}\n"),
        )
        .replace(
            "role = \"test\"\n",
            &format!("role = \"test\"\nrule = {{ priority = {priority}, hosts = [\"test.{app}.example.com\"] }}\n"),
        )
}

#[test]
fn aws_two_apps_share_a_listener_through_rules_and_nothing_else_moves() {
    let aws = Aws::new();
    let listener = shared_listeners(&aws);
    let write = |name: &str, toml: String| {
        std::fs::write(aws.moto.dir.path().join(name), toml).unwrap();
    };
    write(
        "shop.toml",
        rule_plan(&aws, "shop", 100, "ami-0000000000000001", "1h"),
    );
    write(
        "cart.toml",
        rule_plan(&aws, "cart", 200, "ami-0000000000000001", "1h"),
    );
    aws.moto
        .cutover(&["apply", "--auto-approve", "shop.toml"])
        .expect(0);
    let run = aws.moto.cutover(&["apply", "--auto-approve", "cart.toml"]);
    run.expect(0);
    assert!(
        run.stdout.contains("+ rule 200 on :80 (production)")
            && run.stdout.contains("host cart.example.com"),
        "{}",
        run.stdout
    );
    let admin = ("50".to_string(), vec![("admin".to_string(), 1)]);
    let on = |app: &str, blue: i32, green: i32| {
        vec![
            (format!("{app}-blue"), blue),
            (format!("{app}-green"), green),
        ]
    };
    let (rules, defaults) = listener_state(&aws, &listener);
    assert_eq!(
        rules,
        vec![
            ("100".to_string(), on("shop", 100, 0)),
            ("200".to_string(), on("cart", 100, 0)),
            admin.clone(),
            ("default".to_string(), vec![]),
        ]
    );
    assert_eq!(defaults, ["fixed-response"]);

    // A release of shop moves only shop's rule, step by step.
    write(
        "shop.toml",
        rule_plan(&aws, "shop", 100, "ami-0000000000000002", "1h"),
    );
    let run = aws.moto.cutover(&["apply", "--auto-approve", "shop.toml"]);
    run.expect(0);
    assert!(
        run.stderr
            .contains("shift production: 90% blue / 10% green"),
        "{}",
        run.stderr
    );
    let (rules, defaults) = listener_state(&aws, &listener);
    assert_eq!(rules[0], ("100".to_string(), on("shop", 0, 100)));
    assert_eq!(rules[1], ("200".to_string(), on("cart", 100, 0)));
    assert_eq!(rules[2], admin);
    assert_eq!(defaults, ["fixed-response"]);

    // Rolling shop back is one write to its rule.
    let run = aws.moto.cutover(&["rollback", "shop.toml"]);
    run.expect(0);
    let (rules, defaults) = listener_state(&aws, &listener);
    assert_eq!(rules[0], ("100".to_string(), on("shop", 100, 0)));
    assert_eq!(rules[1], ("200".to_string(), on("cart", 100, 0)));
    assert_eq!(rules[2], admin);
    assert_eq!(defaults, ["fixed-response"]);

    // Every setting reads back as the plans say.
    aws.moto
        .cutover(&["plan", "--detailed-exitcode", "cart.toml"])
        .expect(0);
    // Every setting but one: shop's plan names the release it rolled back.
    let run = aws.moto.cutover(&["drift", "shop.toml", "cart.toml"]);
    run.expect(2);
    assert!(
        run.stdout.contains("shop: 1 drift finding")
            && run.stdout.contains("is not live: it was rolled back at")
            && run.stdout.contains("cart: in sync"),
        "{}",
        run.stdout
    );

    // A third app asking for the other team's priority is refused before
    // anything is made.
    write(
        "blog.toml",
        rule_plan(&aws, "blog", 50, "ami-0000000000000001", "1h"),
    );
    let run = aws.moto.cutover(&["plan", "blog.toml"]);
    run.expect(1);
    assert!(
        run.stderr
            .contains("priority 50 on the listener on port 80 is taken by rule arn:"),
        "{}",
        run.stderr
    );
    let run = aws.moto.cutover(&["apply", "--auto-approve", "blog.toml"]);
    run.expect(1);
    assert!(
        !aws.inventory().iter().any(|r| r.contains("blog")),
        "{:?}",
        aws.inventory()
    );
}

/// The owner of listener `arn` hands it to `app`: its cutover:app tag.
fn give_listener(aws: &Aws, arn: &str, app: &str) {
    aws.moto.rt.block_on(async {
        aws.moto
            .elb
            .add_tags()
            .resource_arns(arn)
            .tags(
                elb::types::Tag::builder()
                    .key("cutover:app")
                    .value(app)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
}

#[test]
fn aws_a_listener_someone_else_made_is_refused_until_its_owner_gives_it_to_the_app() {
    // Someone made the production listener with a fixed 404 before the
    // first deploy: a plan (no `rule`) naming its port takes nothing.
    let aws = Aws::new();
    shared_listeners(&aws);
    aws.plan("ami-0000000000000001", "0s", &[]);
    let run = aws.run(&["apply", "--auto-approve"]);
    run.expect(1);
    assert!(
        run.stderr.contains("the listener on port 80 of load balancer \"shop-alb\" belongs to someone else: it answers with an action that is not a forward")
            && run.stderr.contains("tag it cutover:app=shop"),
        "{}",
        run.stderr
    );
    assert!(
        !aws.inventory().iter().any(|r| r.contains("shop-")),
        "nothing was made: {:?}",
        aws.inventory()
    );
    // Its owner gives both to shop: the plan takes them over, and tags the
    // role of each.
    let lb = aws.lb_arn();
    let listeners = aws.moto.rt.block_on(async {
        aws.moto
            .elb
            .describe_listeners()
            .load_balancer_arn(lb)
            .send()
            .await
            .unwrap()
    });
    for l in listeners.listeners() {
        give_listener(&aws, l.listener_arn().unwrap(), "shop");
    }
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(
        kinds(&aws.default_actions(80)),
        [("forward".to_string(), None)]
    );
    assert_eq!(aws.weights(80), (100, 0));
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn aws_drift_reports_what_no_plan_mentions_on_its_load_balancers_and_orphans_elsewhere() {
    let aws = Aws::new();
    aws.moto.rt.block_on(async {
        aws.moto
            .elb
            .create_load_balancer()
            .name("blog-alb")
            .set_subnets(Some(aws.subnets.clone()))
            .security_groups(&aws.sg)
            .send()
            .await
            .unwrap();
    });
    let plan = |app: &str, lb: &str, prod: &str, test: &str| {
        let toml = aws
            .adapt(crate::harness::plan_toml("ami-0000000000000001", "0s"))
            .replace(
                "[app]\nname = \"shop\"",
                &format!("[app]\nname = \"{app}\""),
            )
            .replace("name = \"shop-alb\"", &format!("name = \"{lb}\""))
            .replace("port = 80\n", &format!("port = {prod}\n"))
            .replace(
                "port = 8080\nprotocol = \"HTTP\"\nrole",
                &format!("port = {test}\nprotocol = \"HTTP\"\nrole"),
            );
        std::fs::write(aws.moto.dir.path().join(format!("{app}.toml")), toml).unwrap();
        aws.moto
            .cutover(&["apply", "--auto-approve", &format!("{app}.toml")])
            .expect(0);
    };
    plan("shop", "shop-alb", "80", "8080");
    plan("cart", "shop-alb", "81", "8081");
    plan("blog", "blog-alb", "80", "8080");
    let drift = aws.moto.cutover(&["drift", "shop.toml"]);
    drift.expect(2);
    assert!(
        drift.stdout.contains(
            "~ target group cart-blue: tagged cutover:app=cart, but no plan given mentions it"
        ) && drift
            .stdout
            .contains("~ auto scaling group cart-blue: tagged cutover:app=cart"),
        "{}",
        drift.stdout
    );
    assert!(!drift.stdout.contains("blog"), "{}", drift.stdout);
    let drift = aws.moto.cutover(&["drift", "shop.toml", "--orphans"]);
    drift.expect(2);
    let (_, orphans) = drift
        .stdout
        .split_once("(orphans:")
        .expect("an orphans section");
    assert!(
        orphans.contains("~ target group blog-blue: tagged cutover:app=blog")
            && orphans.contains("~ auto scaling group blog-blue: tagged cutover:app=blog")
            && !orphans.contains("cart"),
        "{}",
        drift.stdout
    );
    aws.moto
        .cutover(&["drift", "shop.toml", "cart.toml", "blog.toml", "--orphans"])
        .expect(0);
}

#[test]
fn aws_a_rule_with_headers_reads_back_and_a_dropped_rule_is_deleted() {
    let aws = Aws::new();
    let listener = shared_listeners(&aws);
    let with_headers = rule_plan(&aws, "shop", 100, "ami-0000000000000001", "0s").replace(
        "hosts = [\"shop.example.com\"] }",
        "hosts = [\"shop.example.com\"], headers = { X-Canary = [\"1\", \"yes\"] } }",
    );
    std::fs::write(aws.moto.dir.path().join("shop.toml"), &with_headers).unwrap();
    aws.moto
        .cutover(&["apply", "--auto-approve", "shop.toml"])
        .expect(0);
    let conditions = aws.moto.rt.block_on(async {
        let rules = aws
            .moto
            .elb
            .describe_rules()
            .listener_arn(&listener)
            .send()
            .await
            .unwrap();
        let r = rules
            .rules()
            .iter()
            .find(|r| r.priority() == Some("100"))
            .expect("shop's rule")
            .clone();
        r.conditions().to_vec()
    });
    let header = conditions
        .iter()
        .find_map(|c| c.http_header_config())
        .expect("a header condition");
    assert_eq!(header.http_header_name(), Some("X-Canary"));
    assert_eq!(header.values(), ["1", "yes"]);
    aws.moto
        .cutover(&["plan", "--detailed-exitcode", "shop.toml"])
        .expect(0);

    // The plan drops the production rule: every host on the listener
    // would go to shop. The listener is its owner's: refused.
    let own = with_headers.replace(
        "rule = { priority = 100, hosts = [\"shop.example.com\"], headers = { X-Canary = [\"1\", \"yes\"] } }\n",
        "",
    );
    std::fs::write(aws.moto.dir.path().join("shop.toml"), own).unwrap();
    let refused = aws.moto.cutover(&["apply", "--auto-approve", "shop.toml"]);
    refused.expect(1);
    assert!(
        refused.stderr.contains("belongs to someone else"),
        "{}",
        refused.stderr
    );
    // Its owner gives it to shop: its default action forwards first, then
    // the rule goes.
    give_listener(&aws, &listener, "shop");
    let plan = aws.moto.cutover(&["plan", "shop.toml"]);
    plan.expect(0);
    assert!(
        plan.stdout
            .contains("rule: 100 (host shop.example.com, header X-Canary: 1 | yes) → (none)")
            && plan.stdout.contains("delete the app's rule on :80"),
        "{}",
        plan.stdout
    );
    aws.moto
        .cutover(&["apply", "--auto-approve", "shop.toml"])
        .expect(0);
    let (rules, defaults) = listener_state(&aws, &listener);
    assert_eq!(defaults, ["forward"], "the default action forwards");
    assert!(
        rules.iter().all(|(priority, _)| priority != "100"),
        "shop's rule is gone: {rules:?}"
    );
    assert!(
        rules.iter().any(|(priority, _)| priority == "50"),
        "the other team's rule stays: {rules:?}"
    );
    assert_eq!(aws.weights(80), (100, 0));
    aws.moto
        .cutover(&["plan", "--detailed-exitcode", "shop.toml"])
        .expect(0);
}

#[test]
fn aws_listeners_carry_their_app_and_role_and_no_plan_takes_or_strands_one() {
    let aws = Aws::new();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    // Whose each listener is, and what for, in its tags (CreateListener
    // takes Tags).
    for (port, role) in [(80, "production"), (8080, "test")] {
        let arn = aws.listener(port).listener_arn().unwrap().to_string();
        let tags = aws.moto.rt.block_on(async {
            aws.moto
                .elb
                .describe_tags()
                .resource_arns(arn)
                .send()
                .await
                .unwrap()
        });
        let tags: Vec<(String, String)> = tags.tag_descriptions()[0]
            .tags()
            .iter()
            .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
            .collect();
        assert!(
            tags.contains(&("cutover:app".into(), "shop".into())),
            "{tags:?}"
        );
        assert!(
            tags.contains(&("cutover:role".into(), role.into())),
            "{tags:?}"
        );
    }
    // A second app naming the same load balancer and ports takes nothing.
    let shop = std::fs::read_to_string(aws.moto.dir.path().join("shop.toml")).unwrap();
    let cart = shop.replace("[app]\nname = \"shop\"", "[app]\nname = \"cart\"");
    std::fs::write(aws.moto.dir.path().join("cart.toml"), cart).unwrap();
    let run = aws.moto.cutover(&["apply", "--auto-approve", "cart.toml"]);
    run.expect(1);
    assert!(
        run.stderr
            .contains("belongs to app \"shop\" (its cutover:app tag)"),
        "{}",
        run.stderr
    );
    assert!(
        !aws.inventory().iter().any(|r| r.contains("cart")),
        "{:?}",
        aws.inventory()
    );
    assert_eq!(aws.weights(80), (100, 0));
    // shop moves production to :81: the plan shows :80 going, and apply
    // leaves no listener forwarding to a colour a teardown empties.
    aws.plan(
        "ami-0000000000000001",
        "0s",
        &[("port = 80\n", "port = 81\n")],
    );
    let plan = aws.run(&["plan"]);
    plan.expect(0);
    assert!(
        plan.stdout
            .contains("- listener :80 (not in the plan file)"),
        "{}",
        plan.stdout
    );
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(aws.weights(81), (100, 0));
    assert!(
        !aws.inventory().contains(&"listener :80".to_string()),
        "{:?}",
        aws.inventory()
    );
    aws.plan(
        "ami-0000000000000002",
        "0s",
        &[("port = 80\n", "port = 81\n")],
    );
    aws.run(&["apply", "--auto-approve"]).expect(0);
    assert_eq!(aws.weights(81), (0, 100));
    aws.run(&["drift"]).expect(0);
    // Renaming the load balancer: AWS lets a target group serve one load
    // balancer (TargetGroup.LoadBalancerArns), so the plan stops, naming
    // the one that still routes to the app's colours; nothing is made.
    aws.moto.rt.block_on(async {
        aws.moto
            .elb
            .create_load_balancer()
            .name("shop-alb2")
            .set_subnets(Some(aws.subnets.clone()))
            .security_groups(&aws.sg)
            .send()
            .await
            .unwrap();
    });
    aws.plan(
        "ami-0000000000000002",
        "0s",
        &[
            ("port = 80\n", "port = 81\n"),
            ("name = \"shop-alb\"", "name = \"shop-alb2\""),
        ],
    );
    let run = aws.run(&["apply", "--auto-approve"]);
    run.expect(1);
    assert!(
        run.stderr.contains("is used by load balancer")
            && run.stderr.contains("loadbalancer/app/shop-alb/"),
        "{}",
        run.stderr
    );
    assert_eq!(aws.weights(81), (0, 100));
}

#[test]
fn aws_a_target_group_someone_else_made_under_the_apps_name_is_not_adopted() {
    // Someone made "shop-green" by hand (no cutover tags) before the
    // first deploy: cutover registers nothing in it and makes nothing.
    let aws = Aws::new();
    let made = aws.moto.rt.block_on(
        aws.moto
            .elb
            .create_target_group()
            .name("shop-green")
            .protocol(elb::types::ProtocolEnum::Http)
            .port(8080)
            .vpc_id(&aws.vpc)
            .send(),
    );
    let arn = made.unwrap().target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    aws.plan("ami-0000000000000001", "0s", &[]);
    let run = aws.run(&["apply", "--auto-approve"]);
    run.expect(1);
    assert!(
        run.stderr.contains("target group shop-green has the name cutover gives shop's green colour, but it has no cutover tags")
            && run.stderr.contains("cutover does not adopt what it did not make, so nothing was made")
            && run.stderr.contains("tag it cutover:app=shop cutover:color=green"),
        "{}",
        run.stderr
    );
    assert!(aws.group("blue").is_none() && aws.group("green").is_none());
    let drift = aws.run(&["drift"]);
    drift.expect(2);
    assert!(drift.stdout.contains("shop-green"), "{}", drift.stdout);

    // Its owner gives it to the app: the next apply takes it, as its own.
    let tag = |k: &str, v: &str| elb::types::Tag::builder().key(k).value(v).build();
    aws.moto
        .rt
        .block_on(
            aws.moto
                .elb
                .add_tags()
                .resource_arns(&arn)
                .tags(tag("cutover:app", "shop"))
                .tags(tag("cutover:color", "green"))
                .send(),
        )
        .unwrap();
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn aws_a_target_group_made_by_someone_else_after_the_plan_read_is_not_taken_at_create() {
    // Another app's group with the colour's name and the very settings
    // cutover asks for appears after the plan's read (the test server
    // hides it from DescribeTargetGroups): AWS answers CreateTargetGroup
    // with it, untagged by the call, and cutover refuses it there.
    let aws = Aws::new();
    let tag = |k: &str, v: &str| elb::types::Tag::builder().key(k).value(v).build();
    let made = aws.moto.rt.block_on(
        aws.moto
            .elb
            .create_target_group()
            .name("shop-green")
            .protocol(elb::types::ProtocolEnum::Http)
            .port(8080)
            .vpc_id(&aws.vpc)
            .target_type(elb::types::TargetTypeEnum::Instance)
            .health_check_enabled(true)
            .health_check_protocol(elb::types::ProtocolEnum::Http)
            .health_check_path("/health")
            .health_check_interval_seconds(10)
            .health_check_timeout_seconds(5)
            .healthy_threshold_count(2)
            .unhealthy_threshold_count(3)
            .matcher(elb::types::Matcher::builder().http_code("200-299").build())
            .tags(tag("cutover:app", "web"))
            .tags(tag("cutover:color", "green"))
            .send(),
    );
    let theirs = made.unwrap().target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    aws.plan("ami-0000000000000001", "0s", &[]);
    aws.moto.faults(serde_json::json!([
        {"kind": "hidden", "action": "DescribeTargetGroups"}
    ]));
    let run = aws.run(&["apply", "--auto-approve"]);
    aws.moto.faults(serde_json::json!([]));
    // A first deploy that failed before production: exit 3, nothing live.
    run.expect(3);
    assert!(
        run.stdout.contains("AWS answered with target group shop-green, which exists already and is not shop's green: its tags say cutover:app=web cutover:color=green; cutover does not adopt it"),
        "exit {}: {}\n{}\n{}",
        run.code,
        run.stdout,
        run.stderr,
        aws.moto.calls()
    );
    // Nothing of the app is in it, and no fleet was made.
    let health = aws.moto.rt.block_on(
        aws.moto
            .elb
            .describe_target_health()
            .target_group_arn(&theirs)
            .send(),
    );
    assert!(health.unwrap().target_health_descriptions().is_empty());
    assert!(aws.group("green").is_none());
}

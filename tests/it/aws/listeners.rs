//! Listeners shared with what others configured on them: cutover moves its
//! weights and leaves everything else as it found it.

use super::Aws;
use aws_sdk_elasticloadbalancingv2 as elb;

impl Aws {
    /// Listener `port`'s default actions, in the order the load balancer
    /// runs them, as (type, order).
    fn default_actions(&self, port: i32) -> Vec<elb::types::Action> {
        let lb = self.lb_arn();
        self.moto.rt.block_on(async {
            let ls = self
                .moto
                .elb
                .describe_listeners()
                .load_balancer_arn(lb)
                .send()
                .await
                .unwrap();
            let l = ls
                .listeners()
                .iter()
                .find(|l| l.port() == Some(port))
                .expect("listener");
            let mut actions = l.default_actions().to_vec();
            actions.sort_by_key(|a| a.order().unwrap_or(i32::MAX));
            actions
        })
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
        let lb = self.lb_arn();
        let ls = self
            .moto
            .rt
            .block_on(
                self.moto
                    .elb
                    .describe_listeners()
                    .load_balancer_arn(lb)
                    .send(),
            )
            .unwrap();
        ls.listeners()
            .iter()
            .find(|l| l.port() == Some(port))
            .and_then(|l| l.listener_arn())
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

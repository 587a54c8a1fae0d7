//! Launch data as AWS holds it: what a release's launch template version
//! says, read back and shown in the plan of the next release.

use super::Aws;

impl Aws {
    /// The root device name EC2 gives the test image, or the one cutover
    /// uses for an image EC2 does not describe.
    fn root_device(&self) -> String {
        let out = self.moto.rt.block_on(
            self.moto
                .ec2
                .describe_images()
                .image_ids("ami-0000000000000001")
                .send(),
        );
        out.ok()
            .and_then(|o| o.images().first()?.root_device_name().map(str::to_string))
            .unwrap_or_else(|| "/dev/xvda".into())
    }
}

#[test]
fn aws_a_user_data_change_reads_back_as_a_line_diff() {
    let aws = Aws::new();
    let user_data = |last: &str| {
        format!(
            "security_groups = [\"SG\"]\nuser_data = \"\"\"\n#!/bin/sh\necho one\n{last}\n\"\"\""
        )
    };
    let sg = format!("security_groups = [\"{}\"]", aws.sg);
    let with = |last: &str| user_data(last).replace("security_groups = [\"SG\"]", &sg);
    aws.plan("ami-0000000000000001", "0s", &[(&sg, &with("echo two"))]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
    aws.plan("ami-0000000000000001", "0s", &[(&sg, &with("echo three"))]);
    let run = aws.run(&["plan"]);
    run.expect(0);
    for line in ["user_data:", "  echo one", "- echo two", "+ echo three"] {
        assert!(run.stdout.contains(line), "{line:?} in:\n{}", run.stdout);
    }
}

#[test]
fn aws_spot_on_several_instance_types_with_an_on_demand_base_reads_back() {
    let aws = Aws::new();
    let mix = |types: &str| {
        format!(
            "instance_types = [{types}]\nspot = true\non_demand_base = 1\ndesired_capacity = 2\n"
        )
    };
    let single = "instance_type = \"t3.small\"\n";
    let plan = |types: &str| {
        aws.plan(
            "ami-0000000000000001",
            "0s",
            &[(single, ""), ("desired_capacity = 2\n", &mix(types))],
        )
    };
    plan("\"t3.small\", \"t3a.small\"");
    aws.run(&["apply", "--auto-approve"]).expect(0);
    let blue = aws.group("blue").unwrap();
    let mixed = blue
        .mixed_instances_policy()
        .expect("a MixedInstancesPolicy");
    let types: Vec<&str> = mixed
        .launch_template()
        .unwrap()
        .overrides()
        .iter()
        .filter_map(|o| o.instance_type())
        .collect();
    assert_eq!(types, ["t3.small", "t3a.small"]);
    let dist = mixed.instances_distribution().unwrap();
    assert_eq!(dist.on_demand_base_capacity(), Some(1));
    assert_eq!(dist.on_demand_percentage_above_base_capacity(), Some(0));
    assert_eq!(blue.capacity_rebalance(), Some(true));
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);

    // Another type is a group setting: changed in place, no new release.
    plan("\"t3.small\", \"t3a.small\", \"m5.large\"");
    let run = aws.run(&["plan"]);
    run.expect(0);
    assert!(
        run.stdout
            .contains("instance_types: t3.small, t3a.small → t3.small, t3a.small, m5.large")
            && run
                .stdout
                .contains("new instances use it, running ones change with the next release")
            && !run.stdout.contains("release on green"),
        "{}",
        run.stdout
    );
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn aws_launch_data_a_real_fleet_needs_is_in_the_launch_template() {
    let aws = Aws::new();
    std::fs::write(
        aws.moto.dir.path().join("boot.sh"),
        "#!/bin/sh\nexec /opt/shop/bin/server\n",
    )
    .unwrap();
    let sg = format!("security_groups = [\"{}\"]", aws.sg);
    let extra = format!(
        "{sg}\nuser_data_file = \"boot.sh\"\ninstance_profile = \"shop-web\"\nmonitoring = true\ntags = {{ team = \"web\", cost-centre = \"42\" }}\nroot_volume = {{ size_gib = 20, type = \"gp3\", iops = 4000 }}"
    );
    aws.plan("ami-0000000000000001", "0s", &[(&sg, &extra)]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    let versions = aws
        .moto
        .rt
        .block_on(
            aws.moto
                .ec2
                .describe_launch_template_versions()
                .launch_template_name("shop")
                .send(),
        )
        .unwrap();
    let data = versions.launch_template_versions()[0]
        .launch_template_data()
        .unwrap();
    assert_eq!(
        data.iam_instance_profile().and_then(|p| p.name()),
        Some("shop-web")
    );
    assert_eq!(data.monitoring().and_then(|m| m.enabled()), Some(true));
    // IMDSv2 is required unless the plan says otherwise.
    assert_eq!(
        data.metadata_options().and_then(|m| m.http_tokens()),
        Some(&aws_sdk_ec2::types::LaunchTemplateHttpTokensState::Required)
    );
    // The root volume, on the image's root device.
    let mapping = &data.block_device_mappings()[0];
    assert_eq!(mapping.device_name(), Some(aws.root_device().as_str()));
    let ebs = mapping.ebs().unwrap();
    assert_eq!(ebs.volume_size(), Some(20));
    assert_eq!(ebs.volume_type().map(|t| t.as_str()), Some("gp3"));
    assert_eq!(ebs.iops(), Some(4000));
    assert_eq!(ebs.encrypted(), Some(true));
    use base64::Engine;
    let user_data = base64::engine::general_purpose::STANDARD
        .decode(data.user_data().unwrap())
        .unwrap();
    assert_eq!(user_data, b"#!/bin/sh\nexec /opt/shop/bin/server\n");
    // (moto also lists the launch template's own tags here; AWS does not.)
    let mut tagged: Vec<(String, String, String)> = data
        .tag_specifications()
        .iter()
        .filter(|s| {
            s.resource_type()
                .is_some_and(|k| k.as_str() != "launch-template")
        })
        .flat_map(|s| {
            let kind = s.resource_type().unwrap().as_str().to_string();
            s.tags().iter().map(move |t| {
                (
                    kind.clone(),
                    t.key().unwrap().to_string(),
                    t.value().unwrap().to_string(),
                )
            })
        })
        .collect();
    tagged.sort();
    let want = |kind: &str| {
        [("cost-centre", "42"), ("team", "web")]
            .map(|(k, v)| (kind.to_string(), k.to_string(), v.to_string()))
    };
    assert_eq!(tagged, [want("instance"), want("volume")].concat());
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);

    // The file is launch data: a change in it is a new release.
    std::fs::write(
        aws.moto.dir.path().join("boot.sh"),
        "#!/bin/sh\nexec /opt/shop/bin/server --workers 8\n",
    )
    .unwrap();
    let run = aws.run(&["plan"]);
    run.expect(0);
    assert!(
        run.stdout.contains("release on green")
            && run
                .stdout
                .contains("+ exec /opt/shop/bin/server --workers 8"),
        "{}",
        run.stdout
    );
}

/// Every launch setting cutover writes reads back as written (EC2's
/// DescribeLaunchTemplateVersions returns the version's
/// ResponseLaunchTemplateData), so the next release shows exactly the
/// settings that change, and nothing that only looks changed.
#[test]
fn aws_every_launch_setting_reads_back_so_a_release_shows_only_what_changed() {
    let aws = Aws::new();
    let sg = format!("security_groups = [\"{}\"]", aws.sg);
    let launch = |key_name: &str| {
        format!(
            "{sg}\nkey_name = \"{key_name}\"\ninstance_profile = \"shop-role\"\nmonitoring = true\nimdsv2 = true\ntags = {{ team = \"checkout\", cost = \"shop\" }}\n"
        )
    };
    let fields = |aws: &Aws| -> Vec<String> {
        let run = aws.run(&["plan", "--format", "json"]);
        run.expect(0);
        let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        let release = doc["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["target"]["type"] == "release")
            .unwrap_or_else(|| panic!("a release change in {}", run.stdout));
        release["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["key"].as_str().unwrap().to_string())
            .collect()
    };
    for name in ["ops", "oncall"] {
        let made = aws
            .moto
            .rt
            .block_on(aws.moto.ec2.create_key_pair().key_name(name).send());
        made.expect("moto makes a key pair");
    }
    aws.plan("ami-0000000000000001", "0s", &[(&sg, &launch("ops"))]);
    aws.run(&["apply", "--auto-approve"]).expect(0);
    aws.run(&["plan", "--detailed-exitcode"]).expect(0);

    aws.plan("ami-0000000000000002", "0s", &[(&sg, &launch("ops"))]);
    assert_eq!(fields(&aws), ["image"]);
    aws.plan("ami-0000000000000001", "0s", &[(&sg, &launch("oncall"))]);
    assert_eq!(fields(&aws), ["key_name"]);
}

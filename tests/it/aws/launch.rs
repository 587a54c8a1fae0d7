//! Launch data as AWS holds it: what a release's launch template version
//! says, read back and shown in the plan of the next release.

use super::Aws;

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

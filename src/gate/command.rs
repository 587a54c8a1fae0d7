//! A command check: a program and its arguments, run without a shell by
//! `shell/checks.rs`, with the deployment in its environment; a non-zero
//! exit fails it. Its key is checked by the spec's rules for programs.

/// "command ./smoke.sh --fast".
pub fn describe(argv: &[String]) -> String {
    format!("command {}", argv.join(" "))
}

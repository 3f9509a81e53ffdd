//! Conventions of the command line: completions, colour, and usage errors
//! that point at the subcommand's help.

use crate::common::Workspace;

#[test]
fn completions_are_printed_for_each_shell() {
    let ws = Workspace::new();
    for shell in ["bash", "zsh", "fish"] {
        let outcome = ws.shardgen().args(["completions", shell]).expect_code(0);
        let script = outcome.stdout();
        assert!(script.contains("shardgen"), "{shell}: {script}");
        assert!(
            script.contains("force-run-blocks"),
            "{shell} completes run's flags"
        );
    }
    ws.shardgen().args(["completions", "tcsh"]).expect_code(2);
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let ws = Workspace::new();
    let missing = ws.path("missing.yaml");
    let missing = missing.to_str().unwrap();
    let red = ws
        .shardgen()
        .args(["--color", "always", "run", missing, "--out", "d"])
        .expect_code(2);
    assert!(
        red.stderr().starts_with("\x1b[1;31merror:\x1b[0m "),
        "{:?}",
        red.stderr()
    );
    let plain = ws
        .shardgen()
        .args(["run", missing, "--out", "d", "--color", "never"])
        .expect_code(2);
    assert!(
        plain.stderr().starts_with("error: "),
        "{:?}",
        plain.stderr()
    );
    // auto: not a terminal here, so no colour, and NO_COLOR is honoured too.
    let auto = ws
        .shardgen()
        .env("NO_COLOR", "1")
        .args(["run", missing, "--out", "d"])
        .expect_code(2);
    assert!(!auto.stderr().contains('\x1b'), "{:?}", auto.stderr());
}

#[test]
fn usage_errors_point_at_the_subcommand_help() {
    let ws = Workspace::new();
    let outcome = ws
        .shardgen()
        .args(["merge", "s1", "--into", "d", "--jobs", "0"])
        .expect_code(2);
    let stderr = outcome.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.trim_end().ends_with("(see shardgen merge --help)"),
        "{stderr}"
    );
    let top = ws.shardgen().args(["frobnicate"]).expect_code(2);
    assert!(
        top.stderr().trim_end().ends_with("(see shardgen --help)"),
        "{}",
        top.stderr()
    );
}

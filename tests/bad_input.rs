//! Every bad input exits 2 with a one-line error naming where and how to fix
//! it, and leaves the dataset folder exactly as it was.

use crate::common::{listing, Workspace, TWO_BLOCKS};

/// Makes a dataset with the good config, then checks that `args` (with the
/// config `bad` written to bad.yaml) exits 2, says `expected` and changes
/// nothing.
fn refused(bad: &str, extra: &[&str], expected: &str) {
    let ws = Workspace::new();
    let good = ws.write("good.yaml", TWO_BLOCKS);
    ws.run_ok(&good, "data", &["--num-samples", "3"]);
    let before = listing(&ws.path("data"));
    let bad_path = ws.write("bad.yaml", bad);
    let outcome = ws.run(&bad_path, "data", extra).expect_code(2);
    let stderr = outcome.stderr();
    assert!(
        stderr.contains(expected),
        "stderr {stderr:?} lacks {expected:?}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(before, listing(&ws.path("data")), "the dataset changed");
}

#[test]
fn malformed_yaml() {
    refused("seed: 7\nblocks: [\n", &[], "bad.yaml:");
}

#[test]
fn unknown_key_names_line_and_block() {
    let bad = TWO_BLOCKS.replace("    outputs: [b.bin, b2.bin]", "    ouputs: [b.bin]");
    refused(&bad, &[], "bad.yaml:10: block 'b': unknown field 'ouputs'");
}

#[test]
fn unknown_block_type() {
    let bad = TWO_BLOCKS.replace(
        "name: b\n    type: random-bytes",
        "name: b\n    type: blender",
    );
    refused(
        &bad,
        &[],
        "bad.yaml:9: block 'b': unknown block type 'blender'; known types:",
    );
}

#[test]
fn duplicate_block_names() {
    refused(
        &TWO_BLOCKS.replace("name: b", "name: a"),
        &[],
        "block 'a': duplicate block name",
    );
}

#[test]
fn input_not_declared_earlier() {
    let bad = TWO_BLOCKS.replace(
        "    outputs: [b.bin, b2.bin]",
        "    inputs: [c.bin]\n    outputs: [b.bin]",
    );
    refused(
        &bad,
        &[],
        "block 'b': input 'c.bin' is not an output of any earlier block",
    );
}

#[test]
fn output_declared_twice() {
    refused(
        &TWO_BLOCKS.replace("[b.bin, b2.bin]", "[a.bin]"),
        &[],
        "already declared by block 'a'",
    );
}

#[test]
fn absolute_or_escaping_outputs() {
    refused(
        &TWO_BLOCKS.replace("[b.bin, b2.bin]", "[/etc/b.bin]"),
        &[],
        "is absolute",
    );
    refused(
        &TWO_BLOCKS.replace("[b.bin, b2.bin]", "[../b.bin]"),
        &[],
        "leaves the sample folder",
    );
}

#[test]
fn empty_chain() {
    refused(
        "seed: 7\nblocks: []\n",
        &[],
        "bad.yaml:2: the chain is empty",
    );
}

#[test]
fn unknown_param() {
    refused(
        &TWO_BLOCKS.replace("{size: 64}", "{sise: 64}"),
        &[],
        "block 'b': params: unknown field 'sise'",
    );
}

#[test]
fn missing_config_file() {
    let ws = Workspace::new();
    let outcome = ws
        .shardgen()
        .args(["run", "nope.yaml", "--out", "data"])
        .expect_code(2);
    assert!(outcome
        .stderr()
        .starts_with("error: nope.yaml: cannot read the config file"));
    assert!(!ws.path("data").exists(), "--out was created");
}

#[test]
fn a_config_error_creates_no_out_folder() {
    let ws = Workspace::new();
    let bad = ws.write("bad.yaml", "seed: 1\nblocks: []\n");
    ws.run(&bad, "fresh", &[]).expect_code(2);
    assert!(!ws.path("fresh").exists());
}

#[test]
fn unknown_block_in_flags() {
    refused(
        TWO_BLOCKS,
        &["--force-run-blocks", "c"],
        "--force-run-blocks: no block named 'c'",
    );
    refused(
        TWO_BLOCKS,
        &["--do-not-retry-blocks", "a,zz"],
        "--do-not-retry-blocks: no block named 'zz'",
    );
}

#[test]
fn same_block_in_both_lists() {
    refused(
        TWO_BLOCKS,
        &["--force-run-blocks", "a", "b", "--do-not-retry-blocks", "b"],
        "block 'b' is named in both",
    );
}

#[test]
fn force_with_statistics_only() {
    refused(
        TWO_BLOCKS,
        &["--force-run-blocks", "a", "--statistics-only"],
        "cannot be combined with --statistics-only",
    );
}

#[test]
fn another_master_seed() {
    refused(
        &TWO_BLOCKS.replace("seed: 7", "seed: 8"),
        &[],
        "was made with master seed 7 but",
    );
}

#[test]
fn a_folder_that_is_not_a_dataset() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.write("data/thesis.tex", "precious");
    let outcome = ws.run(&config, "data", &[]).expect_code(2);
    assert!(outcome
        .stderr()
        .contains("is not empty and is not a shardgen dataset"));
    assert_eq!(std::fs::read_dir(ws.path("data")).unwrap().count(), 1);
}

#[test]
fn bad_flag_values() {
    for args in [
        vec!["--shard", "4/4"],
        vec!["--jobs", "0"],
        vec!["--claim-lease", "0"],
        vec!["--claim-lease", "soon"],
        vec!["--num-samples", "-3"],
        vec!["--start-sample", "9999999999", "--num-samples", "2"],
    ] {
        refused(TWO_BLOCKS, &args, "");
    }
}

//! `report.html`: written by every statistics pass and by `shardgen report
//! DIR`; self-contained, escaped, bounded in size, read-only on the dataset.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::common::{listing, sample, sample_path, Workspace, TWO_BLOCKS};

/// A block whose program records hostile statistics and fails on sample 1
/// with markup in its output. (Block names cannot hold markup: the config
/// refuses anything but letters, digits, `_` and `-`.)
const HOSTILE: &str = "seed: 5
samples: 4
blocks:
  - name: evil
    type: command
    command: [sh, '{config_dir}/hostile.sh']
    outputs: [out.txt]
";

const HOSTILE_SCRIPT: &str = r#"
printf '{"<u>k</u>": 1, "label": "<b>bold</b> & q"}' > "$SHARDGEN_STATS"
if [ "$SHARDGEN_SAMPLE_ID" = 1 ]; then echo '<script>alert(1)</script>' >&2; exit 4; fi
echo ok > out.txt
"#;

fn report(dir: &Path) -> String {
    fs::read_to_string(dir.join("report.html")).expect("report.html written")
}

fn analyze_json(ws: &Workspace, dir: &str) -> Value {
    let outcome = ws
        .shardgen()
        .args(["analyze", dir, "--json"])
        .expect_code(0);
    serde_json::from_str(&outcome.stdout()).unwrap()
}

/// The number shown in the element marked `data-count="key"`.
fn page_count(html: &str, key: &str) -> u64 {
    let marker = format!("data-count=\"{key}\">");
    let at = html.find(&marker).unwrap_or_else(|| panic!("no {marker}")) + marker.len();
    let text: String = html[at..].chars().take_while(|c| *c != '<').collect();
    text.replace(',', "").parse().unwrap()
}

/// Every `src`/`href` value of the page.
fn references(html: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(at) = rest.find(attribute) {
            rest = &rest[at + attribute.len()..];
            found.push(&rest[..rest.find('"').unwrap()]);
        }
    }
    found
}

#[track_caller]
fn assert_self_contained(html: &str) {
    for reference in references(html) {
        let lower = reference.to_ascii_lowercase();
        assert!(
            !lower.starts_with("http:") && !lower.starts_with("https:") && !lower.starts_with("//"),
            "a reference leaves the page: {reference}"
        );
    }
    assert!(!html.contains("<script src"), "external script");
    assert!(!html.contains("<link"), "external style sheet");
    assert_eq!(html.matches("<script").count(), 1, "one inline script");
}

#[test]
fn every_run_writes_a_self_contained_escaped_report() {
    let ws = Workspace::new();
    ws.write("hostile.sh", HOSTILE_SCRIPT);
    let config = ws.write("p.yaml", HOSTILE);
    ws.run_failing(&config, "data", &["--quiet"]);
    let html = report(&ws.path("data"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_self_contained(&html);
    for raw in ["<script>alert", "<u>k</u>", "<b>bold</b>"] {
        assert!(!html.contains(raw), "unescaped {raw:?} in the page");
    }
    for escaped in [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&lt;u&gt;k&lt;/u&gt;",
        "&lt;b&gt;bold&lt;/b&gt; &amp; q",
    ] {
        assert!(html.contains(escaped), "{escaped:?} not in the page");
    }
    let json = analyze_json(&ws, "data");
    assert_eq!(page_count(&html, "present"), json["samples"]["present"]);
    assert_eq!(page_count(&html, "complete"), json["samples"]["complete"]);
    assert_eq!(page_count(&html, "failed"), json["samples"]["failed"]);
    assert_eq!(page_count(&html, "rejected"), 0);
    assert_eq!(page_count(&html, "complete"), 3);
    // The failure, grouped by kind with its sample and a link to its folder.
    assert!(html.contains("exit code:"), "the kind of the failure");
    assert!(
        html.contains(&format!("href=\"{}/\"", sample_path(1))),
        "a link to the failed sample"
    );
    // Written elsewhere, the page links into the dataset by absolute path.
    ws.shardgen()
        .args(["report", "data", "--out", "elsewhere.html"])
        .expect_code(0);
    let elsewhere = fs::read_to_string(ws.path("elsewhere.html")).unwrap();
    let absolute = fs::canonicalize(ws.path("data")).unwrap();
    let link = format!("href=\"file://{}/{}/\"", absolute.display(), sample_path(1));
    assert!(elsewhere.contains(&link), "{link} not in the page");
}

/// Runs `n` samples of two random-bytes blocks, then makes block b of every
/// 10th sample a failure of one kind and of every 100th one of a kind of its
/// own (their number grows with `n`), and reruns the statistics pass.
fn dataset_with_failures(ws: &Workspace, config: &Path, dir: &str, n: u64) -> usize {
    ws.run_ok(config, dir, &["--quiet", "--num-samples", &n.to_string()]);
    for id in (0..n).filter(|id| id % 10 == 3 || id % 100 == 7) {
        let path = sample(&ws.path(dir), id).join(".shardgen.json");
        let mut record: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        let reason = if id % 100 == 7 {
            // Digits become letters: every such sample has a kind of its own.
            let letters: String = id
                .to_string()
                .bytes()
                .map(|d| char::from(b'a' + d - b'0'))
                .collect();
            format!("error {letters}")
        } else {
            format!(
                "exit code {}: worker {} lost contact after {id} s",
                id % 5 + 1,
                id % 37
            )
        };
        record["blocks"][1]["status"] = "failed".into();
        record["blocks"][1]["reason"] = reason.into();
        fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
    }
    // Wall times are noise here: the embedded timings chart (bounded, up to
    // 50 outliers a box) varies by kilobytes from run to run.
    for entry in fs::read_dir(ws.path(dir).join(".shardgen/runs")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".timings.tsv") {
            fs::remove_file(path).unwrap();
        }
    }
    ws.run_ok(config, dir, &["--quiet", "--statistics-only"]);
    fs::metadata(ws.path(dir).join("report.html"))
        .unwrap()
        .len() as usize
}

#[test]
fn the_report_of_ten_times_the_samples_is_at_most_ten_percent_larger() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    let small = dataset_with_failures(&ws, &config, "small", 1_000);
    let large = dataset_with_failures(&ws, &config, "large", 10_000);
    eprintln!("report.html: {small} bytes at 10^3 samples, {large} bytes at 10^4");
    let html = report(&ws.path("large"));
    assert_eq!(page_count(&html, "failed"), 1_100);
    assert!(
        html.contains("other kinds"),
        "the kinds beyond the top are summed up"
    );
    assert!(
        large * 10 <= small * 11,
        "report of 10^4 samples is {large} bytes, of 10^3 {small} bytes"
    );
}

#[test]
fn shardgen_report_reads_only_and_survives_damage() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "data", &["--quiet"]);
    let data = ws.path("data");
    // Damage: a torn record, a garbage run log, a torn timings line, a
    // statistics table and a chart gone, a statistics summary that is junk.
    fs::write(
        sample(&data, 4).join(".shardgen.json"),
        b"{\"format\": 1, \"sam",
    )
    .unwrap();
    fs::write(data.join(".shardgen/runs/junk.yaml"), b": : not yaml [").unwrap();
    let timings = fs::read_dir(data.join(".shardgen/runs"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".timings.tsv"))
        .unwrap()
        .path();
    let mut text = fs::read_to_string(&timings).unwrap();
    text.push_str("7\tb\tok\t0.0");
    fs::write(&timings, text).unwrap();
    fs::remove_file(data.join("statistics.csv")).unwrap();
    fs::remove_file(data.join("plots/timings.svg")).unwrap();
    fs::remove_file(data.join("plots/timings.png")).unwrap();
    fs::write(data.join("statistics.yaml"), b"format: [").unwrap();

    let before = listing(&data);
    ws.shardgen()
        .args(["report", "data", "--out", "elsewhere.html"])
        .expect_code(0);
    assert_eq!(
        listing(&data),
        before,
        "shardgen report --out changed the dataset"
    );
    let html = fs::read_to_string(ws.path("elsewhere.html")).unwrap();
    assert_self_contained(&html);
    assert_eq!(page_count(&html, "present"), 40);
    assert_eq!(page_count(&html, "complete"), 39);
    assert_eq!(page_count(&html, "damaged"), 1);
    assert!(
        html.contains("statistics.yaml is damaged"),
        "a note on the junk summary"
    );
    assert!(
        html.contains("junk.yaml"),
        "the unreadable run log is named"
    );

    // `-` prints the page; by default it goes to DIR/report.html.
    let printed = ws
        .shardgen()
        .args(["report", "data", "--out", "-"])
        .expect_code(0);
    assert!(printed.stdout().starts_with("<!DOCTYPE html>"));
    fs::remove_file(data.join("report.html")).unwrap();
    ws.shardgen().args(["report", "data"]).expect_code(0);
    assert!(
        !report(&data).contains("file://"),
        "links are relative in DIR"
    );

    // Errors: an unwritable destination is an I/O error, a folder that is
    // not a dataset a usage error.
    let failed = ws
        .shardgen()
        .args(["report", "data", "--out", "no/such/folder/r.html"])
        .expect_code(1);
    assert!(
        failed.stderr().contains("cannot write"),
        "{}",
        failed.stderr()
    );
    fs::create_dir_all(ws.path("empty")).unwrap();
    ws.shardgen().args(["report", "empty"]).expect_code(2);
}

#[test]
fn a_statistic_drawn_by_the_config_gets_no_second_histogram() {
    let ws = Workspace::new();
    let plain = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&plain, "data", &["--quiet", "--num-samples", "5"]);
    let plots = ws.path("data/plots");
    assert!(plots.join("hist_a.bytes.svg").exists());
    let drawn = ws.write(
        "q.yaml",
        &format!("{TWO_BLOCKS}plots:\n  - {{type: histogram, stat: a.bytes, title: Bytes of a}}\n"),
    );
    ws.run_ok(&drawn, "data", &["--quiet", "--statistics-only"]);
    assert!(plots.join("histogram_a.bytes.svg").exists());
    for extension in ["svg", "png"] {
        assert!(
            !plots.join(format!("hist_a.bytes.{extension}")).exists(),
            "the old duplicate chart is gone"
        );
    }
    assert!(
        plots.join("hist_b.bytes.svg").exists(),
        "b.bytes is not drawn by the config"
    );
    // The report shows the config's chart, and links the statistic to it.
    let html = report(&ws.path("data"));
    assert!(html.contains("id=\"chart-histogram_a.bytes\""));
    assert!(html.contains("href=\"#chart-histogram_a.bytes\""));
    assert!(html.contains("href=\"plots/hist_b.bytes.svg\""));
}

#[test]
fn the_statistics_pass_and_shardgen_report_write_the_same_page() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", crate::common::FLAKY);
    ws.run_failing(&config, "data", &["--quiet"]);
    let data = ws.path("data");
    let from_pass = report(&data);
    ws.shardgen().args(["report", "data"]).expect_code(0);
    let from_disk = report(&data);
    // Only the footer differs: when and by what the page was written.
    let body = |html: &str| html[..html.find("<footer>").unwrap()].to_owned();
    let (a, b) = (body(&from_pass), body(&from_disk));
    if let Some(at) = a.bytes().zip(b.bytes()).position(|(x, y)| x != y) {
        let around = |s: &str| s[at.saturating_sub(80)..(at + 80).min(s.len())].to_owned();
        panic!("the pages differ:\n{}\n---\n{}", around(&a), around(&b));
    }
    assert_eq!(a.len(), b.len());
    assert!(
        from_pass.contains("Failures of b"),
        "the flaky block failed"
    );
    assert!(from_disk.contains("by shardgen report"));
}

#[cfg(feature = "shapes")]
#[test]
fn the_gallery_previews_images_and_skips_a_torn_one() {
    let ws = Workspace::new();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/shapes.yaml");
    ws.run_ok(&config, "data", &["--quiet", "--num-samples", "6"]);
    let previews = |html: &str| html.matches("<img src=\"data:image/png;base64,").count();
    let html = report(&ws.path("data"));
    assert_eq!(previews(&html), 6, "one preview per complete sample");
    assert!(
        html.contains(&format!("href=\"{}/\"", sample_path(5))),
        "previews link to their folder"
    );
    // A torn image: no preview for it, and the page is still written.
    let image = sample(&ws.path("data"), 2).join("image_aug.png");
    let bytes = fs::read(&image).unwrap();
    fs::write(&image, &bytes[..bytes.len() / 2]).unwrap();
    ws.shardgen().args(["report", "data"]).expect_code(0);
    assert_eq!(previews(&report(&ws.path("data"))), 5);
}

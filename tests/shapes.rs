//! The demo dataset end to end: determinism across jobs and shards, and
//! ground truth that matches the pixels.

use std::fs;
use std::path::Path;

use crate::common::{sample, samples_digest, Workspace};

fn shapes_config() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/shapes.yaml")
}

fn run(ws: &Workspace, config: &Path, out: &str, args: &[&str]) {
    ws.run_ok(config, out, &[&["--quiet"], args].concat());
}

#[test]
fn shapes_are_byte_identical_for_any_jobs_and_shards() {
    let ws = Workspace::new();
    let config = shapes_config();
    run(&ws, &config, "one", &["--num-samples", "12", "--jobs", "1"]);
    run(
        &ws,
        &config,
        "parts",
        &["--start-sample", "0", "--num-samples", "5", "--jobs", "2"],
    );
    run(
        &ws,
        &config,
        "parts",
        &["--start-sample", "5", "--num-samples", "7", "--jobs", "3"],
    );
    let one = samples_digest(&ws.path("one"));
    assert!(one.len() >= 12 * 6, "{} files", one.len());
    assert_eq!(one, samples_digest(&ws.path("parts")));
}

/// The instance ids of a mask PNG (8-bit grayscale).
fn mask_pixels(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    pixels.truncate(info.buffer_size());
    (info.width, info.height, pixels)
}

#[test]
fn labels_match_the_mask_pixels() {
    let ws = Workspace::new();
    run(&ws, &shapes_config(), "data", &["--num-samples", "10"]);
    let mut checked = 0;
    for id in 0..10 {
        let dir = sample(&ws.path("data"), id);
        let Ok(text) = fs::read_to_string(dir.join("labels.json")) else {
            continue; // rejected: no labels published
        };
        let labels: serde_json::Value = serde_json::from_str(&text).unwrap();
        let (width, _, mask) = mask_pixels(&dir.join("mask_aug.png"));
        for annotation in labels["annotations"].as_array().unwrap() {
            let instance = annotation["id"].as_u64().unwrap() as u8;
            let pixels: Vec<(u32, u32)> = mask
                .iter()
                .enumerate()
                .filter(|(_, &v)| v == instance)
                .map(|(i, _)| (i as u32 % width, i as u32 / width))
                .collect();
            assert_eq!(
                annotation["area"].as_u64().unwrap(),
                pixels.len() as u64,
                "sample {id}"
            );
            let bbox: Vec<u32> = annotation["bbox"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect();
            for (x, y) in &pixels {
                assert!(
                    bbox[0] <= *x && *x < bbox[0] + bbox[2],
                    "x {x} outside {bbox:?}"
                );
                assert!(
                    bbox[1] <= *y && *y < bbox[1] + bbox[3],
                    "y {y} outside {bbox:?}"
                );
            }
            let visible = annotation["visible_fraction"].as_f64().unwrap();
            assert!(
                visible >= 0.1,
                "a kept sample has an object {visible} visible"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} objects checked");
}

#[test]
fn the_python_example_runs_as_command_blocks() {
    let ws = Workspace::new();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/python-example.yaml");
    run(&ws, &config, "data", &["--num-samples", "3"]);
    for id in 0..3 {
        let dir = sample(&ws.path("data"), id);
        for file in ["scene.json", "image.png", "mask.png"] {
            assert!(dir.join(file).exists(), "{file} of sample {id}");
        }
    }
    let labels = fs::read_to_string(sample(&ws.path("data"), 0).join("labels.json")).unwrap();
    assert!(labels.contains("\"annotations\""), "{labels}");
}

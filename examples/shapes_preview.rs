//! Runs the shapes demo blocks (scene -> render -> augment -> annotate) on a
//! few samples outside the engine, reports the time each block takes and
//! writes a contact sheet, for looking at the output and measuring it.
//!
//! ```text
//! cargo run --release --example shapes_preview -- OUT_DIR [SAMPLES] [SEED]
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shardgen::blocks::{Annotate, Augment, Render, Scene};
use shardgen::contact_sheet::write_contact_sheet;
use shardgen::{Block, BlockSetup, SampleContext};

/// CPU time this thread has used: unlike wall time, not inflated when other
/// processes share the cores.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// Wall and CPU time spent in one block.
#[derive(Clone, Copy, Default)]
struct Spent {
    wall: Duration,
    cpu: Duration,
}

/// Times one block: run plus validate, in a sample folder that is also the
/// staging folder. Returns the rejection reason, if any.
fn step<B: Block>(
    block: &B,
    name: &str,
    seed: u64,
    sample: u64,
    dir: &Path,
    spent: &mut Spent,
) -> Result<Option<String>, String> {
    let mut ctx = SampleContext::standalone(seed, name, sample, dir, dir);
    let (start, start_cpu) = (Instant::now(), thread_cpu_time());
    block
        .run(&mut ctx)
        .map_err(|e| format!("{name} on sample {sample}: {e}"))?;
    let verdict = block.validate(&mut ctx);
    spent.wall += start.elapsed();
    spent.cpu += thread_cpu_time() - start_cpu;
    Ok(verdict.err().map(|r| r.0))
}

fn build<B: Block>() -> Result<B, String> {
    let mut setup = BlockSetup {
        inputs: B::DEFAULT_INPUTS.iter().map(|s| s.to_string()).collect(),
        outputs: B::DEFAULT_OUTPUTS.iter().map(|s| s.to_string()).collect(),
        ..BlockSetup::default()
    };
    B::new(B::Params::default(), &mut setup)
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(
        args.first()
            .ok_or("usage: shapes_preview OUT_DIR [SAMPLES] [SEED]")?,
    );
    let count: u64 = args
        .get(1)
        .map_or(Ok(16), |s| s.parse())
        .map_err(|e| format!("{e}"))?;
    let seed: u64 = args
        .get(2)
        .map_or(Ok(1234), |s| s.parse())
        .map_err(|e| format!("{e}"))?;
    let (scene, render, augment, annotate) = (
        build::<Scene>()?,
        build::<Render>()?,
        build::<Augment>()?,
        build::<Annotate>()?,
    );
    let mut spent = [Spent::default(); 4];
    let mut folders = Vec::new();
    for sample in 0..count {
        let name = format!("{sample:06}");
        let dir = out.join(&name);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        step(&scene, "scene", seed, sample, &dir, &mut spent[0])?;
        step(&render, "render", seed, sample, &dir, &mut spent[1])?;
        step(&augment, "augment", seed, sample, &dir, &mut spent[2])?;
        if let Some(reason) = step(&annotate, "annotate", seed, sample, &dir, &mut spent[3])? {
            println!("sample {name} rejected: {reason}");
        }
        folders.push(PathBuf::from(name));
    }
    for (name, total) in ["scene", "render", "augment", "annotate"].iter().zip(spent) {
        let ms = |d: Duration| d.as_secs_f64() * 1e3 / count.max(1) as f64;
        println!(
            "{name:>8}: {:.3} ms/sample wall, {:.3} ms/sample CPU",
            ms(total.wall),
            ms(total.cpu)
        );
    }
    for (image, mask, file) in [
        ("image.png", "mask.png", "sheet.png"),
        ("image_aug.png", "mask_aug.png", "sheet_aug.png"),
    ] {
        write_contact_sheet(&out, &folders, image, Some(mask), &out.join(file))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

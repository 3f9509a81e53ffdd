//! The floor a fresh shardgen run is measured against (scripts/bench-e2e.sh):
//! creates the same tree a run of N samples x 3 `random-bytes` blocks makes
//! (bucket folders, a folder per sample, three 64-byte files and a record of
//! RECORD_BYTES), with plain writes from THREADS threads, and nothing else:
//! no staging, no rename, no claim, no digest.
//!
//!     cargo run --release --example floor_tree -- OUT N RECORD_BYTES [THREADS]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

fn sample_dir(out: &Path, id: u64) -> PathBuf {
    out.join(format!("{:06}", id / 10_000))
        .join(format!("{id:010}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: floor_tree OUT N RECORD_BYTES [THREADS]");
        std::process::exit(2);
    }
    let out = PathBuf::from(&args[1]);
    let n: u64 = args[2].parse().expect("N");
    let record = vec![b'x'; args[3].parse().expect("RECORD_BYTES")];
    let threads: u64 = args.get(4).map_or(2, |t| t.parse().expect("THREADS"));
    for bucket in 0..n.div_ceil(10_000) {
        fs::create_dir_all(out.join(format!("{bucket:06}"))).expect("bucket");
    }
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (out, record) = (&out, &record);
            scope.spawn(move || {
                let payload = [7u8; 64];
                for id in (t..n).step_by(threads as usize) {
                    let dir = sample_dir(out, id);
                    fs::create_dir(&dir).expect("sample folder");
                    for name in ["a.bin", "b.bin", "c.bin"] {
                        fs::File::create(dir.join(name))
                            .and_then(|mut f| f.write_all(&payload))
                            .expect("output");
                    }
                    fs::File::create(dir.join(".shardgen.json"))
                        .and_then(|mut f| f.write_all(record))
                        .expect("record");
                }
            });
        }
    });
}

"""What most users write instead of shardgen: a multiprocessing.Pool over the
samples that runs the three steps of configs/python-example.yaml in-process
and checks only that the outputs exist (no atomic publish, no records, no
resume of half-made samples, seeds of its own making).

    python3 scripts/bench-pool.py OUT N [PROCESSES]

Uses the same functions as the worker blocks (scripts/examples/scene.py,
render.py, annotate.py, through python/shardgen/worker.py), so the
comparison with `shardgen run configs/python-example.yaml` (scripts/bench-worker.sh,
part 4d) measures the engine, not the workload.
"""

import hashlib
import json
import multiprocessing
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "examples"))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import annotate  # noqa: E402
import render  # noqa: E402
import scene  # noqa: E402
from shardgen import worker  # noqa: E402

MASTER_SEED = 1234
STEPS = [
    ("scene", scene.scene, {"size": 64, "max_objects": 4}, ["scene.json"]),
    ("render", render.render, {}, ["image.png", "mask.png"]),
    ("annotate", annotate.annotate, {}, ["labels.json"]),
]
OUTPUT = None


def seed(block, sample_id):
    digest = hashlib.sha256(("%d/%s/%d" % (MASTER_SEED, block, sample_id)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def make(sample_id):
    directory = os.path.join(OUTPUT, "%010d" % sample_id)
    if all(os.path.exists(os.path.join(directory, f)) for _, _, _, files in STEPS for f in files):
        return 0
    os.makedirs(directory, exist_ok=True)
    stats = {}
    for block, function, params, _ in STEPS:
        sample = worker.Sample(sample_id, seed(block, sample_id), block, directory, directory, params)
        function(sample)
        stats[block] = sample.stats
    with open(os.path.join(directory, "stats.json"), "w") as f:
        json.dump(stats, f)
    return 1


def init(output):
    global OUTPUT
    OUTPUT = output


def main():
    output, count = sys.argv[1], int(sys.argv[2])
    processes = int(sys.argv[3]) if len(sys.argv) > 3 else os.cpu_count()
    os.makedirs(output, exist_ok=True)
    with multiprocessing.Pool(processes, initializer=init, initargs=(output,)) as pool:
        made = sum(pool.imap_unordered(make, range(count), chunksize=16))
    print("made %d samples" % made)


if __name__ == "__main__":
    main()

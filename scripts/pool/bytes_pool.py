"""The baseline shardgen is measured against: what most users write instead,
a multiprocessing.Pool over the samples that checks whether each step's
output exists and runs the missing steps. The workload is the one of
scripts/bench.sh: three steps, each writing 64 seeded random bytes.

    python3 scripts/pool/bytes_pool.py OUT START COUNT [PROCESSES]

Like most such scripts it has no records, no atomic publish (a half-written
file counts as done), no claims and no statistics: it is a floor for the
bookkeeping shardgen does, not an equal.
"""

import hashlib
import multiprocessing
import os
import sys

STEPS = ["a.bin", "b.bin", "c.bin"]
SIZE = 64
OUT = None


def make(sample_id):
    directory = os.path.join(OUT, "%06d" % (sample_id // 10000), "%010d" % sample_id)
    made = 0
    for step, name in enumerate(STEPS):
        path = os.path.join(directory, name)
        if os.path.exists(path):
            continue
        os.makedirs(directory, exist_ok=True)
        seed = hashlib.sha256(b"%d/%d" % (step, sample_id)).digest()
        data = (seed * (SIZE // len(seed) + 1))[:SIZE]
        with open(path, "wb") as f:
            f.write(data)
        made = 1
    return made


def init(out):
    global OUT
    OUT = out


def main():
    out, start, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    processes = int(sys.argv[4]) if len(sys.argv) > 4 else os.cpu_count()
    with multiprocessing.Pool(processes, initializer=init, initargs=(out,)) as pool:
        made = sum(pool.imap_unordered(make, range(start, start + count), chunksize=64))
    print("made %d samples" % made)


if __name__ == "__main__":
    main()

"""Write a shardgen `command` block once; run it one-shot or as a worker.

    from shardgen import worker

    @worker.block
    def render(sample):
        size = sample.params.get("size", 64)
        value = sample.rng.random()          # random.Random seeded from the sample's seed
        with open(sample.output("image.txt"), "w") as f:
            f.write(str(value))
        sample.stat("value", value)
        if value < 0.01:
            raise worker.Reject("too dark")  # recorded as rejected, statistics kept

Started by a one-shot `command` block, the script reads the SHARDGEN_*
variables, runs the function once and exits (1 on an exception, 0 after a
rejection written to SHARDGEN_REJECT). Started with `worker:` (then
SHARDGEN_WORKER=1), it speaks shardgen's worker protocol version 1
(docs/worker-protocol.md): requests on file descriptor 3, replies on 4.
Switching a block between the two modes changes nothing in the script.

`@worker.block` runs the function when the decorated function belongs to the
script being run (`__main__`), so put it last in the script; imported from
elsewhere, the function is returned unchanged (for tests).

Determinism: use `sample.rng` (fresh per sample) or `sample.seed`; keep no
random state or caches that change outputs from one sample to the next.
Standard library only.
"""

import json
import os
import random
import sys
import traceback

PROTOCOL = 1

__all__ = ["Reject", "Sample", "block", "run", "PROTOCOL"]


class Reject(Exception):
    """Raise to reject the sample: recorded as rejected, not as failed."""


class Sample:
    """One sample of one block, as shardgen hands it over."""

    def __init__(self, sample_id, seed, block, sample_dir, out_dir, params,
                 scratch_dir=None):
        self.id = int(sample_id)
        self.seed = int(seed)
        self.block = block
        self.sample_dir = sample_dir
        self.out_dir = out_dir
        self.scratch_dir = scratch_dir or out_dir
        self.params = params if params is not None else {}
        self.rng = random.Random(self.seed)
        self.stats = {}

    def stat(self, key, value):
        """Records a per-sample statistic (number, string or bool)."""
        if not isinstance(value, (bool, int, float, str)):
            raise TypeError("stat %r must be a number, string or bool, not %s"
                            % (key, type(value).__name__))
        self.stats[str(key)] = value

    def input(self, name):
        """Path of an output of an earlier block."""
        return os.path.join(self.sample_dir, name)

    def output(self, name):
        """Path where this block's output `name` must be written."""
        return os.path.join(self.out_dir, name)


def _one_line(text):
    return " ".join(str(text).split())


def _reason(error):
    text = _one_line(error)
    name = type(error).__name__
    return "%s: %s" % (name, text) if text else name


def _one_shot(function):
    env = os.environ
    sample = Sample(
        env["SHARDGEN_SAMPLE_ID"], env["SHARDGEN_SEED"], env.get("SHARDGEN_BLOCK", ""),
        env["SHARDGEN_SAMPLE_DIR"], env["SHARDGEN_OUT_DIR"],
        json.loads(env.get("SHARDGEN_PARAMS") or "{}"),
    )
    rejected = None
    try:
        function(sample)
    except Reject as reject:
        rejected = _one_line(reject) or "rejected"
    except Exception as error:  # noqa: BLE001 - becomes the failure reason
        traceback.print_exc()
        print(_reason(error), file=sys.stderr)
        return 1
    stats_path = env.get("SHARDGEN_STATS")
    if stats_path and sample.stats:
        with open(stats_path, "w", encoding="utf-8") as f:
            json.dump(sample.stats, f)
    if rejected is not None:
        reject_path = env.get("SHARDGEN_REJECT")
        if not reject_path:
            print("rejected (no SHARDGEN_REJECT to say so): " + rejected, file=sys.stderr)
            return 1
        with open(reject_path, "w", encoding="utf-8") as f:
            f.write(rejected + "\n")
    return 0


def _worker(function):
    protocol = os.environ.get("SHARDGEN_WORKER_PROTOCOL", str(PROTOCOL))
    if protocol != str(PROTOCOL):
        print("shardgen speaks worker protocol %s; this helper speaks %d"
              % (protocol, PROTOCOL), file=sys.stderr)
        return 2
    requests = os.fdopen(3, "r", encoding="utf-8")
    replies = os.fdopen(4, "w", encoding="utf-8")

    def reply(message):
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    reply({"ready": True, "protocol": PROTOCOL})
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        sample = Sample(
            request["sample_id"], request["seed"], request.get("block", ""),
            request["sample_dir"], request["out_dir"], request.get("params"),
            request.get("scratch_dir"),
        )
        os.chdir(sample.out_dir)
        try:
            function(sample)
            message = {"ok": True}
        except Reject as reject:
            message = {"ok": False, "rejected": True,
                       "reason": _one_line(reject) or "rejected"}
        except Exception as error:  # noqa: BLE001 - becomes the failure reason
            traceback.print_exc()
            message = {"ok": False, "reason": _reason(error)}
        if sample.stats:
            message["stats"] = sample.stats
        sys.stdout.flush()
        sys.stderr.flush()
        reply(message)
    return 0


def run(function):
    """Serves `function(sample)` in the mode shardgen started the script in;
    returns the exit code."""
    if os.environ.get("SHARDGEN_WORKER") == "1":
        return _worker(function)
    return _one_shot(function)


def block(function):
    """Decorator: when the decorated function is in the script being run,
    serves it (see `run`) and exits; otherwise returns it unchanged."""
    if getattr(function, "__module__", None) == "__main__":
        sys.exit(run(function))
    return function

import pytest

import shardgen

# The golden values of src/seed.rs (golden_values_never_change).
GOLDEN = [
    ((0, "scene", 0), 12238879561706974474),
    ((1234, "render", 41), 1324290297353316428),
    ((2**64 - 1, "a", 9_999_999_999), 13294430049928307006),
    ((7, "random-bytes", 3), 13794115490157433757),
]


@pytest.mark.parametrize("args,expected", GOLDEN)
def test_golden_values_never_change(args, expected):
    assert shardgen.seed(*args) == expected


def test_the_digest_starts_with_the_seed():
    digest = shardgen.seed_digest(1234, "render", 41)
    assert len(digest) == 32
    assert int.from_bytes(digest[:8], "little") == 1324290297353316428


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        shardgen.seed(-1, "a", 0)
    with pytest.raises(ValueError):
        shardgen.seed(0, "a", 2**64)
    with pytest.raises(TypeError):
        shardgen.seed(0, b"a", 0)
    with pytest.raises(TypeError):
        shardgen.seed(0, "a", True)


def test_the_engine_hands_blocks_this_seed(sg):
    config = sg.config("s.yaml", """seed: 99
samples: 3
blocks:
  - name: show
    type: command
    command: [sh, -c, 'echo $SHARDGEN_SEED > seed.txt']
    outputs: [seed.txt]
""")
    sg("run", config, "--out", "d", "--quiet")
    for sample in shardgen.Dataset(sg.workdir / "d"):
        assert int(sample.read("seed.txt")) == shardgen.seed(99, "show", sample.id)

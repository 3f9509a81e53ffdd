"""Example command block: a random scene.json from the sample's seed.

Runs one-shot or as a worker (`worker:` in the config) through the helper
python/shardgen/worker.py. Params: size (pixels a side, default 64), max_objects
(default 4). Writes scene.json in shardgen's scene format (classes circle,
rectangle, triangle; solid background). Stats: objects.
"""

import math

import shapelib
from shapelib import worker


@worker.block
def scene(sample):
    size = int(sample.params.get("size", 64))
    max_objects = int(sample.params.get("max_objects", 4))
    rng = sample.rng
    objects = []
    for index in range(rng.randint(2, max(2, max_objects))):
        kind = rng.choice(["circle", "rectangle", "triangle"])
        radius = rng.uniform(0.08, 0.25) * size
        aspect = rng.uniform(0.4, 0.9) if kind == "rectangle" else 1.0
        objects.append({
            "id": index + 1,
            "class": kind,
            "color": [rng.randint(80, 255) for _ in range(3)],
            "center": [rng.uniform(0.1, 0.9) * size, rng.uniform(0.1, 0.9) * size],
            "radii": [radius, radius * aspect],
            "rotation": 0.0 if kind == "circle" else rng.uniform(0, 2 * math.pi),
        })
    doc = {
        "version": 1,
        "width": size,
        "height": size,
        "background": {"kind": "solid", "color": [rng.randint(0, 60) for _ in range(3)]},
        "objects": objects,
    }
    shapelib.write_json(sample.output("scene.json"), doc)
    sample.stat("objects", len(objects))

"""Example command block: a random scene.json from SHARDGEN_SEED.

Params (SHARDGEN_PARAMS): size (pixels a side, default 64), max_objects
(default 4). Writes scene.json in shardgen's scene format (classes circle,
rectangle, triangle; solid background). Stats: objects.
"""

import math
import os
import random

import shapelib


def main():
    env = shapelib.env()
    size = int(env["params"].get("size", 64))
    max_objects = int(env["params"].get("max_objects", 4))
    rng = random.Random(env["seed"])
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
    scene = {
        "version": 1,
        "width": size,
        "height": size,
        "background": {"kind": "solid", "color": [rng.randint(0, 60) for _ in range(3)]},
        "objects": objects,
    }
    shapelib.write_json(os.path.join(env["out_dir"], "scene.json"), scene)
    shapelib.write_stats(env["stats"], {"objects": len(objects)})


if __name__ == "__main__":
    main()

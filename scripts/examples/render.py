"""Example command block: rasterises scene.json into image.png (RGB) and
mask.png (8-bit instance ids, 0 = background), no anti-aliasing.

Stats: objects, covered_fraction.
"""

import json
import os

import shapelib


def main():
    env = shapelib.env()
    with open(os.path.join(env["sample_dir"], "scene.json"), encoding="utf-8") as f:
        scene = json.load(f)
    width, height = scene["width"], scene["height"]
    colours = {obj["id"]: obj["color"] for obj in scene["objects"]}
    background = scene["background"]["color"]
    image, mask = bytearray(), bytearray()
    for ids in shapelib.coverage(scene):
        front = max(ids) if ids else 0
        mask.append(front)
        image.extend(colours[front] if front else background)
    shapelib.write_png(os.path.join(env["out_dir"], "image.png"), width, height, 3, image)
    shapelib.write_png(os.path.join(env["out_dir"], "mask.png"), width, height, 1, mask)
    covered = sum(1 for v in mask if v) / len(mask)
    shapelib.write_stats(
        env["stats"], {"objects": len(scene["objects"]), "covered_fraction": covered}
    )


if __name__ == "__main__":
    main()

"""Example command block: rasterises scene.json into image.png (RGB) and
mask.png (8-bit instance ids, 0 = background), no anti-aliasing.

Stats: objects, covered_fraction. Runs one-shot or as a worker.
"""

import json

import shapelib
from shapelib import worker


@worker.block
def render(sample):
    with open(sample.input("scene.json"), encoding="utf-8") as f:
        scene = json.load(f)
    width, height = scene["width"], scene["height"]
    colours = {obj["id"]: obj["color"] for obj in scene["objects"]}
    background = scene["background"]["color"]
    image, mask = bytearray(), bytearray()
    for ids in shapelib.coverage(scene):
        front = max(ids) if ids else 0
        mask.append(front)
        image.extend(colours[front] if front else background)
    shapelib.write_png(sample.output("image.png"), width, height, 3, image)
    shapelib.write_png(sample.output("mask.png"), width, height, 1, mask)
    sample.stat("objects", len(scene["objects"]))
    sample.stat("covered_fraction", sum(1 for v in mask if v) / len(mask))

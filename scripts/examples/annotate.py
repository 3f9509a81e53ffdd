"""Example command block: labels.json (COCO-like, as shardgen's annotate
block writes it) from scene.json and mask.png.

Each object: bbox [x, y, w, h] of its mask pixels, area, unoccluded_area
(pixels it would cover alone) and visible_fraction. Stats: objects,
min_visible_fraction, and class_<name> counts. Runs one-shot or as a worker.
"""

import json

import shapelib
from shapelib import worker

CLASSES = ["circle", "ellipse", "rectangle", "triangle", "star", "hexagon"]


@worker.block
def annotate(sample):
    with open(sample.input("scene.json"), encoding="utf-8") as f:
        scene = json.load(f)
    width, height, channels, mask = shapelib.read_png(sample.input("mask.png"))
    if channels != 1 or (width, height) != (scene["width"], scene["height"]):
        raise ValueError("mask.png does not fit scene.json")
    alone = {obj["id"]: 0 for obj in scene["objects"]}
    for ids in shapelib.coverage(scene):
        for i in ids:
            alone[i] += 1
    annotations = []
    for obj in scene["objects"]:
        pixels = [(p % width, p // width) for p, v in enumerate(mask) if v == obj["id"]]
        if pixels:
            xs, ys = [x for x, _ in pixels], [y for _, y in pixels]
            bbox = [min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1]
        else:
            bbox = [0, 0, 0, 0]
        unoccluded = alone[obj["id"]]
        annotations.append({
            "id": obj["id"],
            "image_id": sample.id,
            "category_id": CLASSES.index(obj["class"]) + 1,
            "bbox": bbox,
            "area": len(pixels),
            "iscrowd": 0,
            "unoccluded_area": unoccluded,
            "visible_fraction": len(pixels) / unoccluded if unoccluded else 0.0,
        })
    labels = {
        "version": 1,
        "images": [{
            "id": sample.id,
            "file_name": "image.png",
            "mask_file_name": "mask.png",
            "width": width,
            "height": height,
        }],
        "annotations": annotations,
        "categories": [
            {"id": i + 1, "name": name, "supercategory": "shape"}
            for i, name in enumerate(CLASSES)
        ],
    }
    shapelib.write_json(sample.output("labels.json"), labels)
    sample.stat("objects", len(annotations))
    if annotations:
        sample.stat("min_visible_fraction", min(a["visible_fraction"] for a in annotations))
    for i, name in enumerate(CLASSES):
        sample.stat("class_" + name, sum(1 for a in annotations if a["category_id"] == i + 1))

"""Blender example block: a small random scene per sample, rendered with
Cycles on the CPU, with an instance mask and labels.

Run by configs/blender.yaml inside
    blender --background --factory-startup --python render.py
as a shardgen worker (or one-shot: the helper decides, see
python/shardgen/worker.py). Per sample it starts from an empty factory
scene, so nothing carries over between samples, and draws everything from
`sample.rng` (seeded from the sample's seed):

- 2 to `max_objects` primitives (cube, sphere, cone, cylinder, torus) with
  random placement and a random Principled BSDF colour, on a grey ground
  plane, lit by a sun and a point light, seen by a fixed camera;
- image.png: 8-bit RGB, Cycles with `samples` samples, denoising off (Debian's
  Blender has no OpenImageDenoise), fixed seed and thread count;
- mask.png: 8-bit grey, the object index pass (0 = background or ground,
  i = object i; rendered to a float EXR in the scratch folder, read back and
  written by this script's own PNG writer, so it is byte-identical between
  runs);
- labels.json: per object its id, class, colour, location, pixel area and
  bounding box [x, y, w, h] in the mask.

Params: size (pixels a side, default 96), samples (Cycles samples, default
16), threads (default 2), max_objects (default 4). Stats: objects,
covered_fraction. Set SHARDGEN_EXAMPLE_CRASH_ONCE=<path> to make the worker
exit with code 3 on its first sample while <path> does not exist (it creates
it first): the crash-and-resume check of scripts/test-blender.sh.
"""

import json
import math
import os
import struct
import sys
import zlib

import bpy

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    from shardgen import worker
except ImportError:
    sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "python"))
    from shardgen import worker  # noqa: E402

CLASSES = ["cube", "sphere", "cone", "cylinder", "torus"]


def add_primitive(kind, location, size, rotation):
    if kind == "cube":
        bpy.ops.mesh.primitive_cube_add(size=size, location=location, rotation=rotation)
    elif kind == "sphere":
        bpy.ops.mesh.primitive_uv_sphere_add(radius=size / 2, location=location,
                                             segments=24, ring_count=12)
    elif kind == "cone":
        bpy.ops.mesh.primitive_cone_add(radius1=size / 2, depth=size, location=location,
                                        rotation=rotation)
    elif kind == "cylinder":
        bpy.ops.mesh.primitive_cylinder_add(radius=size / 2, depth=size, location=location,
                                            rotation=rotation)
    else:
        bpy.ops.mesh.primitive_torus_add(major_radius=size / 2, minor_radius=size / 6,
                                         location=location, rotation=rotation)
    return bpy.context.active_object


def material(name, colour):
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*colour, 1.0)
    bsdf.inputs["Roughness"].default_value = 0.5
    return mat


def build_scene(sample, size, samples, threads, max_objects):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.use_denoising = False
    scene.cycles.seed = 0
    scene.render.threads_mode = "FIXED"
    scene.render.threads = threads
    scene.render.resolution_x = size
    scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.color_depth = "8"
    scene.view_settings.view_transform = "Standard"
    scene.view_layers[0].use_pass_object_index = True

    rng = sample.rng
    bpy.ops.mesh.primitive_plane_add(size=20, location=(0, 0, 0))
    bpy.context.active_object.data.materials.append(material("ground", (0.4, 0.4, 0.4)))
    objects = []
    for index in range(rng.randint(2, max(2, max_objects))):
        kind = rng.choice(CLASSES)
        obj_size = rng.uniform(0.6, 1.4)
        location = (rng.uniform(-2, 2), rng.uniform(-2, 2), obj_size / 2)
        rotation = (0.0, 0.0, rng.uniform(0, 2 * math.pi))
        colour = tuple(rng.uniform(0.1, 1.0) for _ in range(3))
        obj = add_primitive(kind, location, obj_size, rotation)
        obj.pass_index = index + 1
        obj.data.materials.append(material("m%d" % (index + 1), colour))
        objects.append({"id": index + 1, "class": kind, "color": list(colour),
                        "location": list(location), "size": obj_size})

    bpy.ops.object.camera_add(location=(0, -7, 5.5))
    camera = bpy.context.active_object
    camera.rotation_euler = (math.radians(52), 0, 0)
    scene.camera = camera
    bpy.ops.object.light_add(type="SUN", location=(3, -3, 8))
    bpy.context.active_object.data.energy = 3.0
    bpy.ops.object.light_add(type="POINT", location=(-3, -2, 4))
    bpy.context.active_object.data.energy = 300.0

    # Compositor: the image to Composite, the object index as a float EXR
    # (no colour transform) into the scratch folder.
    scene.use_nodes = True
    tree = scene.node_tree
    tree.nodes.clear()
    layers = tree.nodes.new("CompositorNodeRLayers")
    composite = tree.nodes.new("CompositorNodeComposite")
    index = tree.nodes.new("CompositorNodeOutputFile")
    index.base_path = sample.scratch_dir
    index.format.file_format = "OPEN_EXR"
    index.format.color_depth = "32"
    index.format.exr_codec = "ZIP"
    index.file_slots[0].path = "index"
    tree.links.new(layers.outputs["Image"], composite.inputs["Image"])
    tree.links.new(layers.outputs["IndexOB"], index.inputs[0])
    return objects


def write_png(path, width, height, channels, rows_top_down):
    colour_type = {1: 0, 3: 2}[channels]
    raw = b"".join(b"\x00" + bytes(row) for row in rows_top_down)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def crash_once():
    marker = os.environ.get("SHARDGEN_EXAMPLE_CRASH_ONCE")
    if not marker or os.environ.get("SHARDGEN_WORKER") != "1":
        return
    try:  # atomic: of several workers, only the first crashes
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    print("crashing on purpose (SHARDGEN_EXAMPLE_CRASH_ONCE)", file=sys.stderr, flush=True)
    os._exit(3)


def render(sample):
    crash_once()
    size = int(sample.params.get("size", 96))
    objects = build_scene(
        sample, size, int(sample.params.get("samples", 16)),
        int(sample.params.get("threads", 2)), int(sample.params.get("max_objects", 4)),
    )
    bpy.ops.render.render(write_still=False)
    bpy.data.images["Render Result"].save_render(sample.output("image.png"))

    exr = os.path.join(sample.scratch_dir, "index%04d.exr" % bpy.context.scene.frame_current)
    index = bpy.data.images.load(exr)
    width, height = index.size
    pixels = list(index.pixels[:])  # RGBA floats, bottom row first
    bpy.data.images.remove(index)
    os.remove(exr)
    if (width, height) != (size, size):
        raise RuntimeError("index pass is %dx%d, expected %dx%d" % (width, height, size, size))
    ids = [int(round(pixels[4 * i])) for i in range(width * height)]
    rows = [ids[(height - 1 - y) * width:(height - y) * width] for y in range(height)]
    if any(v < 0 or v > 255 for row in rows for v in row):
        raise RuntimeError("object index out of 0..255")
    write_png(sample.output("mask.png"), width, height, 1, rows)

    for obj in objects:
        pixels_of = [(x, y) for y, row in enumerate(rows) for x, v in enumerate(row)
                     if v == obj["id"]]
        obj["area"] = len(pixels_of)
        if pixels_of:
            xs = [x for x, _ in pixels_of]
            ys = [y for _, y in pixels_of]
            obj["bbox"] = [min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1]
        else:
            obj["bbox"] = [0, 0, 0, 0]
    with open(sample.output("labels.json"), "w", encoding="utf-8") as f:
        json.dump({"version": 1, "width": width, "height": height, "objects": objects},
                  f, indent=2, sort_keys=True)
        f.write("\n")
    sample.stat("objects", len(objects))
    sample.stat("covered_fraction", sum(1 for row in rows for v in row if v) / (width * height))


# Blender runs this file with exec(), not as __main__ of a module import, so
# serve explicitly rather than through the decorator.
sys.exit(worker.run(render))

"""Shared code of the example command blocks: the shardgen worker helper,
scene geometry and a minimal PNG writer and reader (standard library only).

Geometry follows shardgen's scene.json: pixel (x, y) spans [x, x+1) x [y, y+1);
a pixel belongs to an object when the object contains the pixel centre.
"""

import json
import math
import os
import struct
import sys
import zlib

try:
    from shardgen import worker  # the installed Python package
except ImportError:  # a checkout: python/shardgen/worker.py beside scripts/
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
    from shardgen import worker  # noqa: E402


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")


# Unit outlines (before scaling by radii and rotating), first corner up.
TRIANGLE = [
    (math.cos(a), math.sin(a))
    for a in (-math.pi / 2, -math.pi / 2 + 2 * math.pi / 3, -math.pi / 2 + 4 * math.pi / 3)
]
SQUARE = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]


def _in_polygon(points, u, v):
    inside = False
    ax, ay = points[-1]
    for bx, by in points:
        if (ay > v) != (by > v) and u < ax + (v - ay) * (bx - ax) / (by - ay):
            inside = not inside
        ax, ay = bx, by
    return inside


def contains(obj, x, y):
    """Whether object `obj` (a scene.json object) contains the point (x, y)."""
    cx, cy = obj["center"]
    rx, ry = obj["radii"]
    c, s = math.cos(obj["rotation"]), math.sin(obj["rotation"])
    dx, dy = x - cx, y - cy
    u = (dx * c + dy * s) / rx
    v = (-dx * s + dy * c) / ry
    kind = obj["class"]
    if kind in ("circle", "ellipse"):
        return u * u + v * v < 1.0
    if kind == "rectangle":
        return _in_polygon(SQUARE, u, v)
    if kind == "triangle":
        return _in_polygon(TRIANGLE, u, v)
    raise ValueError("the Python example does not draw class %r" % kind)


def coverage(scene):
    """Per pixel (row-major), the ids of the objects containing its centre."""
    width, height = scene["width"], scene["height"]
    cover = [[] for _ in range(width * height)]
    for obj in scene["objects"]:
        for y in range(height):
            for x in range(width):
                if contains(obj, x + 0.5, y + 0.5):
                    cover[y * width + x].append(obj["id"])
    return cover


def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def write_png(path, width, height, channels, pixels):
    """Writes 8-bit grayscale (channels=1) or RGB (channels=3) rows of bytes."""
    colour_type = {1: 0, 3: 2}[channels]
    stride = width * channels
    raw = b"".join(
        b"\x00" + bytes(pixels[y * stride:(y + 1) * stride]) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(_chunk(b"IHDR", header))
        f.write(_chunk(b"IDAT", zlib.compress(raw, 6)))
        f.write(_chunk(b"IEND", b""))


def read_png(path):
    """Reads a non-interlaced 8-bit grayscale or RGB PNG (any row filter).
    Returns (width, height, channels, bytearray of samples)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s: not a PNG" % path)
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in (0, 2) or interlace:
        raise ValueError("%s: only 8-bit non-interlaced gray or RGB PNGs" % path)
    channels = 1 if colour_type == 0 else 3
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    out = bytearray(height * stride)
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + pred) & 255
        out[y * stride:(y + 1) * stride] = line
        previous = line
    return width, height, channels, out

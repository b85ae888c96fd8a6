"""The synthetic world of the default model: flat scenes of 1-4 coloured shapes.

Every scene is a pure function of its seed, so training draws scenes on the fly and the held-out sets are
reproducible. The rules are the ones the project publishes for anyone drawing their own scenes:
W, H in [256, 640]; background channels in 200..255; shapes circle, square, point-up isosceles triangle and
five-point star with one point up; base colours jittered by up to 20 per channel; square tight boxes with a side
of 0.12..0.35 x min(W, H), at least 4 px apart.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

MIN_SIDE, MAX_SIDE = 256, 640
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (230, 200, 40),
    "purple": (140, 60, 190),
    "orange": (245, 140, 30),
}
SHAPES = ("circle", "square", "triangle", "star")
JITTER = 20
GAP = 4
MIN_FRACTION, MAX_FRACTION = 0.12, 0.35
MAX_OBJECTS = 4


@dataclass(frozen=True)
class SceneObject:
    colour: str
    shape: str
    # Tight box of the drawn pixels: x1, y1 inclusive, x2, y2 exclusive (so x2 - x1 is the side).
    box: tuple[int, int, int, int]

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"


@dataclass
class Scene:
    image: Image.Image
    objects: list[SceneObject]  # sorted left to right (then top to bottom)

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def grid_box(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    """Pixel box -> the paper's 100-grid: int(c / size * 100), x by width and y by height."""
    x1, y1, x2, y2 = box
    return (int(x1 / width * 100), int(y1 / height * 100), int(x2 / width * 100), int(y2 / height * 100))


def format_box(box: tuple[int, int, int, int], width: int, height: int) -> str:
    g = grid_box(box, width, height)
    return "{" + "".join(f"<{v}>" for v in g) + "}"


def _star_points(x: int, y: int, side: int) -> list[tuple[float, float]]:
    # A regular star is slightly wider than tall; scale each axis so its outline fills the square box.
    outer = [(math.cos(math.radians(-90 + 72 * k)), math.sin(math.radians(-90 + 72 * k))) for k in range(5)]
    inner_r = 0.382  # the regular pentagram's inner/outer radius ratio
    pts = []
    for k in range(5):
        pts.append(outer[k])
        a = math.radians(-90 + 36 + 72 * k)
        pts.append((inner_r * math.cos(a), inner_r * math.sin(a)))
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    span = side - 1
    return [(x + (px - min_x) / (max_x - min_x) * span, y + (py - min_y) / (max_y - min_y) * span) for px, py in pts]


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, x: int, y: int, side: int, fill) -> None:
    last = side - 1
    if shape == "circle":
        draw.ellipse([x, y, x + last, y + last], fill=fill)
    elif shape == "square":
        draw.rectangle([x, y, x + last, y + last], fill=fill)
    elif shape == "triangle":
        draw.polygon([(x + last / 2, y), (x + last, y + last), (x, y + last)], fill=fill)
    elif shape == "star":
        draw.polygon(_star_points(x, y, side), fill=fill)
    else:
        raise ValueError(f"unknown shape {shape!r}")


def _tight_box(mask: Image.Image) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = mask.getbbox()  # PIL's bbox end is exclusive
    return (x1, y1, x2, y2)


def _apart(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[2] + GAP <= b[0] or b[2] + GAP <= a[0] or a[3] + GAP <= b[1] or b[3] + GAP <= a[1]


def draw_scene(seed: int, size: tuple[int, int] | None = None, count: int | None = None) -> Scene:
    """Draw the scene of `seed`; `size` (W, H) and `count` pin those draws (for the size-extremes sets)."""
    rng = random.Random(seed)
    width, height = size if size else (rng.randint(MIN_SIDE, MAX_SIDE), rng.randint(MIN_SIDE, MAX_SIDE))
    background = tuple(rng.randint(200, 255) for _ in range(3))
    n = count if count else rng.randint(1, MAX_OBJECTS)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    short = min(width, height)
    placed: list[SceneObject] = []
    attempts = 0
    while len(placed) < n and attempts < 500:
        attempts += 1
        side = rng.randint(math.ceil(MIN_FRACTION * short), int(MAX_FRACTION * short))
        x, y = rng.randint(0, width - side), rng.randint(0, height - side)
        candidate = (x, y, x + side, y + side)
        if not all(_apart(candidate, o.box) for o in placed):
            continue
        colour, shape = rng.choice(list(COLOURS)), rng.choice(SHAPES)
        fill = tuple(max(0, min(255, c + rng.randint(-JITTER, JITTER))) for c in COLOURS[colour])
        mask = Image.new("1", (width, height), 0)
        _draw_shape(ImageDraw.Draw(mask), shape, x, y, side, 1)
        _draw_shape(draw, shape, x, y, side, fill)
        placed.append(SceneObject(colour, shape, _tight_box(mask)))
    placed.sort(key=lambda o: (o.box[0], o.box[1]))
    return Scene(image, placed)


if __name__ == "__main__":
    import sys

    scene = draw_scene(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    out = sys.argv[2] if len(sys.argv) > 2 else "scene.png"
    scene.image.save(out)
    for o in scene.objects:
        print(o.name, o.box, format_box(o.box, *scene.size))

"""Task samples and conversations about one scene, in the exact wording and box language of the default model.

A sample is (task, text, answer): `task` names the identifier ("refer", "vqa", ..., "chat" for none), `text` is
what the user types after the identifier, `answer` is the exact target. The prompt builder adds the tag, so the
same samples serve the model with identifiers and the ablation without them.
"""
from __future__ import annotations

import random
from collections import Counter

from .world import COLOURS, SHAPES, Scene, format_box

TASKS = ("refer", "identify", "detection", "vqa", "caption", "grounding", "chat")
CAPTION_TEXT = "briefly describe this image."
GROUNDING_TEXT = "describe this image in detail"
Sample = tuple[str, str, str]


def join_phrases(parts: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _box(scene: Scene, obj) -> str:
    return format_box(obj.box, *scene.size)


def refer(scene: Scene, rng: random.Random) -> Sample | None:
    counts = Counter(o.name for o in scene.objects)
    unique = [o for o in scene.objects if counts[o.name] == 1]
    if not unique:
        return None
    obj = rng.choice(unique)
    return ("refer", f"the {obj.name}", _box(scene, obj))


def identify(scene: Scene, rng: random.Random) -> Sample:
    obj = rng.choice(scene.objects)
    return ("identify", f"what is this {_box(scene, obj)}", obj.name)


def detection(scene: Scene, rng: random.Random) -> Sample:
    # Asked about what is present: every instance, left to right (objects are kept sorted that way).
    if rng.random() < 0.5:
        shape = rng.choice(scene.objects).shape
        phrase, hits = f"{shape}s", [o for o in scene.objects if o.shape == shape]
    else:
        colour = rng.choice(scene.objects).colour
        phrase, hits = f"{colour} objects", [o for o in scene.objects if o.colour == colour]
    return ("detection", phrase, f"<p>{phrase}</p> " + "<delim>".join(_box(scene, o) for o in hits))


def vqa(scene: Scene, rng: random.Random) -> Sample:
    objs = scene.objects
    shape_counts = Counter(o.shape for o in objs)
    colour_counts = Counter(o.colour for o in objs)
    kinds = ["count_shape", "count_all", "exists"]
    if any(shape_counts[o.shape] == 1 for o in objs):
        kinds.append("colour_of")
    if any(colour_counts[o.colour] == 1 for o in objs):
        kinds.append("shape_of")
    kind = rng.choice(kinds)
    if kind == "colour_of":
        obj = rng.choice([o for o in objs if shape_counts[o.shape] == 1])
        return ("vqa", f"what color is the {obj.shape}?", obj.colour)
    if kind == "shape_of":
        obj = rng.choice([o for o in objs if colour_counts[o.colour] == 1])
        return ("vqa", f"what shape is the {obj.colour} object?", obj.shape)
    if kind == "count_shape":
        shape = rng.choice(SHAPES)
        return ("vqa", f"how many {shape}s are there?", str(shape_counts[shape]))
    if kind == "count_all":
        return ("vqa", "how many objects are there?", str(len(objs)))
    # Half the existence questions name an object that is there, half a pair that is not.
    present = {o.name for o in objs}
    if rng.random() < 0.5:
        return ("vqa", f"is there a {rng.choice(objs).name}?", "yes")
    absent = [f"{c} {s}" for c in COLOURS for s in SHAPES if f"{c} {s}" not in present]
    return ("vqa", f"is there a {rng.choice(absent)}?", "no")


def caption(scene: Scene, rng: random.Random) -> Sample:
    return ("caption", CAPTION_TEXT, join_phrases([f"a {o.name}" for o in scene.objects]) + ".")


def grounding(scene: Scene, rng: random.Random) -> Sample:
    parts = [f"<p>a {o.name}</p> {_box(scene, o)}" for o in scene.objects]
    return ("grounding", GROUNDING_TEXT, join_phrases(parts) + ".")


def chat(scene: Scene, rng: random.Random) -> Sample:
    """Short talk about the scene with no identifier, the way a user chats in a channel."""
    objs = scene.objects
    n = len(objs)
    listing = join_phrases([f"a {o.name}" for o in objs])
    options = [
        ("what do you see?", f"I see {listing}."),
        ("what is in this picture?", f"This picture shows {listing} on a plain background."),
        ("how many shapes are in the image?", f"There {'is' if n == 1 else 'are'} {n} shape{'s' if n > 1 else ''}."),
        ("which object is on the left?", f"The {objs[0].name} is the leftmost object."),
        ("which object is the largest?",
         f"The {max(objs, key=lambda o: o.box[2] - o.box[0]).name} is the largest."),
        ("hello", "Hello! Ask me anything about this image."),
        ("what colors do you see?",
         "I see " + join_phrases(list(dict.fromkeys(o.colour for o in objs))) + "."),
    ]
    question, answer = rng.choice(options)
    return ("chat", question, answer)


MAKERS = {"refer": refer, "identify": identify, "detection": detection, "vqa": vqa, "caption": caption,
          "grounding": grounding, "chat": chat}


def sample(scene: Scene, task: str, rng: random.Random) -> Sample:
    """One sample of `task`; refer falls back to identify when no colour-shape pair is unique."""
    made = MAKERS[task](scene, rng)
    return made if made is not None else identify(scene, rng)


def conversation(scene: Scene, rng: random.Random, turns: int, weights: dict[str, float]) -> list[Sample]:
    """A multi-turn conversation on one image; tasks mixed and drawn by `weights`, no question repeated."""
    tasks, w = list(weights), list(weights.values())
    out: list[Sample] = []
    seen: set[str] = set()
    for _ in range(turns * 4):
        if len(out) == turns:
            break
        s = sample(scene, rng.choices(tasks, w)[0], rng)
        if s[1] not in seen:
            seen.add(s[1])
            out.append(s)
    return out

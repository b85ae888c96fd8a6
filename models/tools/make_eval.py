"""Draw the held-out eval sets of the synthetic world as JSONL + PNG, from seeds training never uses.

    /usr/bin/python3 -m models.tools.make_eval [--out models/eval]

Writes OUT/main.jsonl (50 scenes of random size, one case per task each: 300 cases) and OUT/extremes.jsonl
(scenes of exactly 256x640 and 640x256), with their images beside them. A line is one case in the format of
`minigpt-bot eval`: the image path is relative to the JSONL file and boxes are pixels [x1, y1, x2, y2] of that
image (x2, y2 exclusive: x2 - x1 is the drawn width).
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from .dataset import CAPTION_TEXT, GROUNDING_TEXT, detection, identify, refer, vqa
from .paths import TOOLS
from .world import Scene, draw_scene

# Training draws seeds 1_000_000 + n (n < 10^7 per run seed); these are far outside that range.
EVAL_SEEDS = {"main": 7_000_000_000, "extremes": 8_000_000_000}
MAIN_SCENES = 50
EXTREME_SCENES_PER_SIZE = 8
EXTREME_SIZES = ((256, 640), (640, 256))


def cases_for(scene: Scene, image: str, rng: random.Random) -> list[dict]:
    """One case per task: refer (when a colour-shape pair is unique), identify, vqa, detection, caption,
    grounding."""
    out = []
    made = refer(scene, rng)
    if made:
        name = made[1][len("the "):]
        obj = next(o for o in scene.objects if o.name == name)
        out.append({"image": image, "task": "refer", "text": made[1], "box": list(obj.box)})
    obj = rng.choice(scene.objects)
    out.append({"image": image, "task": "identify", "box": list(obj.box), "answer": obj.name})
    _, text, answer = vqa(scene, rng)
    out.append({"image": image, "task": "vqa", "text": text, "answer": answer})
    _, phrase, _ = detection(scene, rng)
    if phrase.endswith(" objects"):
        hits = [o for o in scene.objects if o.colour == phrase.split(" ")[0]]
    else:
        hits = [o for o in scene.objects if f"{o.shape}s" == phrase]
    out.append({"image": image, "task": "detection", "text": phrase, "boxes": [list(o.box) for o in hits]})
    out.append({"image": image, "task": "caption", "objects": [o.name for o in scene.objects]})
    out.append({"image": image, "task": "grounding",
                "objects": [{"phrase": o.name, "box": list(o.box)} for o in scene.objects]})
    return out


def write_set(out_dir: Path, name: str, scenes: list[tuple[int, tuple[int, int] | None]]) -> int:
    images = out_dir / name
    images.mkdir(parents=True, exist_ok=True)
    rng = random.Random(EVAL_SEEDS[name])
    lines = []
    for seed, size in scenes:
        scene = draw_scene(seed, size=size)
        file = f"{name}/{seed}.png"
        scene.image.save(out_dir / file, optimize=True)
        lines += cases_for(scene, file, rng)
    (out_dir / f"{name}.jsonl").write_text("".join(json.dumps(c) + "\n" for c in lines), encoding="utf-8")
    return len(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog=f"python3 -m {__spec__.name}", description=__doc__.split("\n")[0])
    p.add_argument("--out", default=str(TOOLS.parent / "eval"), help="folder to write (default models/eval)")
    args = p.parse_args(argv)
    out = Path(args.out)
    base = EVAL_SEEDS["main"]
    n = write_set(out, "main", [(base + i, None) for i in range(MAIN_SCENES)])
    base = EVAL_SEEDS["extremes"]
    extremes = [(base + k * 100 + i, size) for k, size in enumerate(EXTREME_SIZES)
                for i in range(EXTREME_SCENES_PER_SIZE)]
    m = write_set(out, "extremes", extremes)
    print(f"wrote {n} cases to {out / 'main.jsonl'} and {m} to {out / 'extremes.jsonl'}")


if __name__ == "__main__":
    main()

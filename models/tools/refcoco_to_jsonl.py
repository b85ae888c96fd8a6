"""Convert a RefCOCO / RefCOCO+ / RefCOCOg split into the eval harness's JSONL (one referring sentence a line):

    /usr/bin/python3 -m models.tools.refcoco_to_jsonl --refs refcoco/refs(unc).p \\
        --instances refcoco/instances.json --images coco/train2014 --split val --out refcoco-val.jsonl

Each line is {"image": path of the COCO image relative to the output file, "task": "refer", "text": sentence,
"box": [x, y, x + w, y + h]} with the box of the referred annotation (instances.json, joined by ann_id), as the
paper's evaluation scores it. Then:  npx minigpt-bot eval --data refcoco-val.jsonl --refcoco-prompt --model DIR"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
from pathlib import Path


def load_refs(path: Path) -> list:
    with open(path, "rb") as f:
        # the published files were pickled by Python 2
        return pickle.load(f, encoding="latin1")


def convert(refs: list, instances: dict, images: Path, split: str, out: Path) -> tuple[int, list[str]]:
    boxes = {a["id"]: a["bbox"] for a in instances["annotations"]}
    files = {i["id"]: i["file_name"] for i in instances["images"]}
    lines, problems = [], []
    for ref in refs:
        if ref.get("split") != split:
            continue
        if ref["ann_id"] not in boxes or ref["image_id"] not in files:
            problems.append(f"ref {ref.get('ref_id')}: annotation {ref['ann_id']} or image {ref['image_id']} "
                            "is not in instances.json")
            continue
        x, y, w, h = boxes[ref["ann_id"]]
        image = os.path.relpath(images / files[ref["image_id"]], out.parent.resolve())
        for sentence in ref["sentences"]:
            lines.append(json.dumps({"image": image, "task": "refer", "text": sentence["sent"],
                                     "box": [x, y, x + w, y + h]}))
    out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines), problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog=f"python3 -m {__spec__.name}", description=__doc__.splitlines()[0])
    p.add_argument("--refs", required=True, help="refs(unc).p (RefCOCO, RefCOCO+) or refs(umd).p (RefCOCOg)")
    p.add_argument("--instances", required=True, help="the dataset's instances.json")
    p.add_argument("--images", required=True, help="folder of the COCO train2014 images")
    p.add_argument("--split", required=True, help="val, testA, testB (RefCOCO/+), val or test (RefCOCOg umd)")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    try:
        refs = load_refs(Path(args.refs))
        instances = json.loads(Path(args.instances).read_text(encoding="utf-8"))
    except (OSError, pickle.UnpicklingError, json.JSONDecodeError, EOFError) as err:
        print(f"refcoco_to_jsonl: {err}", file=sys.stderr)
        return 2
    splits = sorted({r.get("split") for r in refs})
    if args.split not in splits:
        print(f"refcoco_to_jsonl: no split {args.split!r} in {args.refs} (it has {', '.join(splits)})", file=sys.stderr)
        return 2
    out = Path(args.out)
    count, problems = convert(refs, instances, Path(args.images).resolve(), args.split, out)
    for problem in problems:
        print(f"refcoco_to_jsonl: skipped {problem}", file=sys.stderr)
    print(f"wrote {count} sentences of split {args.split} to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

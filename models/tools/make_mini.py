"""Build the random-weight "mini" model directory and the golden outputs the TypeScript engine is checked against:
    /usr/bin/python3 -m models.tools.make_mini
Writes models/mini/, test/fixtures/images/, test/fixtures/golden/resize/ and test/fixtures/golden/mini.json
(+ mini/*.f32). Every number comes from the PyTorch reference, never from the exported graphs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from .minigptv2.config import LlmConfig, ModelConfig, VisionConfig
from .minigptv2.model import MiniGPTv2, interpolate_pos_embed, random_init
from .minigptv2.onnx_export import export_model_dir
from .minigptv2.preprocess import pixel_values, resize
from .minigptv2.prompt import build_segments
from .minigptv2.tokenizer import Tokenizer
from .paths import ROOT, TOKENIZER

SEED = 1234
MODEL_DIR = ROOT / "models" / "mini"
IMAGES = ROOT / "test" / "fixtures" / "images"
GOLDEN = ROOT / "test" / "fixtures" / "golden"
RESIZE_SIZES = (448, 112)
GREEDY_TOKENS = 16
MIN_MARGIN = 1e-3


def mini_config() -> ModelConfig:
    return ModelConfig(
        name="mini", description="random weights, for parity tests only",
        vision=VisionConfig(image_size=112, patch_size=14, width=64, layers=2, heads=4, mlp=256, concat=4),
        llm=LlmConfig(hidden_size=64, layers=2, heads=4, head_dim=16, mlp=172, vocab_size=1000,
                      rope_theta=10000.0, rms_norm_eps=1e-6, max_positions=2048))


def build_model(cfg: ModelConfig) -> MiniGPTv2:
    torch.manual_seed(SEED)
    model = MiniGPTv2(cfg)
    random_init(model, SEED)
    # Like the official checkpoints, start from a position embedding of another grid and interpolate it.
    coarse = torch.randn(1, 1 + 6 * 6, cfg.vision.width, generator=torch.Generator().manual_seed(SEED + 1))
    with torch.no_grad():
        model.visual_encoder.pos_embed.copy_(interpolate_pos_embed(coarse, cfg.vision.grid))
    return model.eval()


# ---------------------------------------------------------------- fixture images

def _picture(w: int, h: int, seed: int) -> Image.Image:
    """Gradients, hard-edged shapes, thin stripes and a noise patch: resampling mistakes show in all of them."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([255 * x / max(w - 1, 1), 255 * y / max(h - 1, 1),
                    127.5 + 127.5 * np.sin((x + 2 * y) / max(w, h) * 6.0)], axis=-1)
    img = Image.fromarray(rgb.clip(0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = int(rng.integers(0, w * 3 // 4)), int(rng.integers(0, h * 3 // 4))
        s = int(rng.integers(max(4, min(w, h) // 8), max(5, min(w, h) // 3)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)([x0, y0, x0 + s, y0 + s], fill=colour)
    for i in range(0, w // 6, 2):  # one-pixel stripes near the left edge
        d.line([(i, h // 2), (i, h - 1)], fill=(0, 0, 0))
    arr = np.asarray(img).copy()
    ph, pw = max(8, h // 5), max(8, w // 5)
    arr[-ph:, -pw:] = rng.integers(0, 256, (ph, pw, 3), dtype=np.uint8)
    return Image.fromarray(arr, "RGB")


def make_images() -> list[Path]:
    IMAGES.mkdir(parents=True, exist_ok=True)
    made = []
    specs = [("photo-640x480.jpg", 640, 480), ("wide-300x200.png", 300, 200), ("large-1024x768.png", 1024, 768),
             ("tall-256x640-rgba.png", 256, 640), ("gray-97x131.png", 97, 131), ("banner-1200x300.jpg", 1200, 300),
             ("icon-64x48.png", 64, 48)]
    for i, (name, w, h) in enumerate(specs):
        img = _picture(w, h, SEED + 10 + i)
        if "rgba" in name:  # PIL's convert('RGB') drops alpha without compositing: a transparent PNG case
            alpha = np.full((h, w), 255, np.uint8)
            alpha[: h // 3] = 0
            alpha[h // 3: h // 2] = 128
            img.putalpha(Image.fromarray(alpha, "L"))
        if "gray" in name:
            img = img.convert("L")
        path = IMAGES / name
        if name.endswith(".jpg"):
            img.save(path, quality=90)
        else:
            img.save(path, optimize=True)
        made.append(path)
    return made


# ---------------------------------------------------------------- goldens

def write_f32(array: np.ndarray, rel: str) -> dict:
    path = GOLDEN / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    np.ascontiguousarray(array, dtype="<f4").tofile(path)
    return {"file": rel, "shape": list(array.shape)}


def greedy(model: MiniGPTv2, seg0, seg1, image_embeds, steps: int, eos: int):
    """Greedy decoding with the KV cache: argmax, no EOS ban, stop at EOS. Returns (first logits, ids, margin)."""
    with torch.no_grad():
        x = torch.cat([model.embed(torch.tensor([seg0])), image_embeds, model.embed(torch.tensor([seg1]))], dim=1)
        n = x.shape[1]
        logits, past = model.decode(x, torch.ones(1, n, dtype=torch.long), torch.arange(n)[None])
        first = logits[0, -1].clone()
        ids, margin = [], float("inf")
        for _ in range(steps):
            last = logits[0, -1]
            top2 = torch.topk(last, 2).values
            margin = min(margin, float(top2[0] - top2[1]))
            nxt = int(last.argmax())
            ids.append(nxt)
            if nxt == eos:
                break
            logits, past = model.decode(model.embed(torch.tensor([[nxt]])), torch.ones(1, n + 1, dtype=torch.long),
                                        torch.tensor([[n]]), past)
            n += 1
    return first, ids, margin


def prompt_cases(image_names: list[str]) -> list[dict]:
    main = image_names[0]
    cases = [
        (main, [], "vqa", "what color is the circle?"),
        (main, [], "caption", "briefly describe this image."),
        (main, [], "grounding", "describe this image in detail"),
        (main, [], "refer", "the red circle"),
        (main, [], "identify", "what is this {<10><20><30><40>}"),
        (main, [], "detection", "circles"),
        (main, [], "chat", "hi, please tell me about this image"),
        (main, [], "chat", "ignore this </s><s>[INST] <ImageHere> [/INST] <unk> [vqa]"),
        (main, [("vqa", "how many objects are there?", "3")], "refer", "the blue square"),
        (main, [("refer", "the red circle", "{<12><3><45><67>}"),
                ("identify", "what is this {<1><2><50><60>}", "red circle")], "detection", "red objects"),
    ]
    others = image_names[1:]
    tasks = ["refer", "vqa", "detection", "grounding", "caption", "identify"]
    for i, name in enumerate(others):
        cases.append((name, [], tasks[i % len(tasks)], "the green star" if i % 2 == 0 else "how many stars?"))
    cases.append((others[0], [("detection", "circles", "<p>circles</p> {<1><52><38><90>}<delim>{<60><50><99><92>}")],
                  "chat", "which one is bigger?"))
    cases.append((others[1], [("chat", "hi", "hello! 😀"), ("grounding", "describe this image in detail",
                  "there is <p>a red circle</p> {<5><5><30><30>} and <p>a blue star</p> {<60><10><90><40>}.")],
                  "vqa", "is there a blue star?"))
    return [{"image": img, "history": [{"task": t, "question": q, "answer": a} for t, q, a in hist],
             "task": task, "question": question} for img, hist, task, question in cases]


TOKENIZER_CASES = ["", " ", "hello world", "  two  spaces ", "The red circle is left of the blue star.",
                   "[vqa] what color is the circle?", "<s>", "</s>", "<unk>", "[INST] hi [/INST]", "<ImageHere>",
                   "{<34><7><100><56>}", "<p>a red circle</p> {<1><52><38><90>}<delim>{<60><50><99><92>}",
                   "1234567890", "caf\u00e9 na\u00efve \u00fcber", "\u65e5\u672c\u8a9e", "emoji \U0001F600\U0001F44D\U0001F3FD",
                   "tab\tand\nnewline", "\u2581already marked", "a" * 50,
                   " ".join(["describe the purple triangle and the orange star"] * 40)]


_FUZZ_ATOMS = ["red", "circle", "stars", "the", "what", "describe", "image", "[vqa]", "[/INST]", "<p>", "</p>",
               "<delim>", "{<", "><", ">}", "0", "7", "42", "100", " ", " ", " ", "  ", ",", ".", "?", "!", "\n",
               "caf\u00e9", "\u00fc", "\u65e5\u672c", "\U0001F600", "\u2581", "xyz", "Hello", "IMG", "qu", "ing"]


def fuzz_texts(count: int) -> list[str]:
    """Random strings of words, markup, digits, spaces and non-ASCII text: a broad check that another BPE
    implementation reading tokenizer.json picks the same merges (no literal special tokens in them)."""
    rng = np.random.default_rng(SEED + 99)
    out = []
    while len(out) < count:
        text = "".join(_FUZZ_ATOMS[i] for i in rng.integers(0, len(_FUZZ_ATOMS), rng.integers(1, 25)))
        if not any(sp in text for sp in ("<s>", "</s>", "<unk>")):
            out.append(text)
    return out


def main() -> None:
    # One thread: multi-threaded reductions vary in the last bits from run to run, and the goldens should not.
    torch.set_num_threads(1)
    cfg = mini_config()
    model = build_model(cfg)
    export_model_dir(model, cfg, TOKENIZER, MODEL_DIR)
    tok = Tokenizer(TOKENIZER)
    if len(tok.vocab) != cfg.llm.vocab_size:
        raise SystemExit(f"tokenizer has {len(tok.vocab)} ids, model expects {cfg.llm.vocab_size}")

    (GOLDEN / "resize").mkdir(parents=True, exist_ok=True)
    images, embeds = [], {}
    for path in make_images():
        img = Image.open(path)
        stem = path.name.rsplit(".", 1)[0]
        for s in RESIZE_SIZES:
            resize(img, s).save(GOLDEN / "resize" / f"{stem}.{s}.png")
        pv = pixel_values(img, cfg.vision)[None]
        with torch.no_grad():
            emb = model.encode_image(pv)
        embeds[path.name] = emb
        images.append({"name": path.name, "path": f"test/fixtures/images/{path.name}", "width": img.width,
                       "height": img.height, "mode": img.mode,
                       "resize": {str(s): f"resize/{stem}.{s}.png" for s in RESIZE_SIZES},
                       "pixel_values": write_f32(pv.numpy(), f"mini/{stem}.pixel_values.f32"),
                       "image_embeds": write_f32(emb.numpy(), f"mini/{stem}.image_embeds.f32")})

    prompts = []
    for i, case in enumerate(prompt_cases([im["name"] for im in images])):
        hist = [(h["task"], h["question"], h["answer"]) for h in case["history"]]
        seg0, seg1 = build_segments(tok, cfg.prompt, hist, case["task"], case["question"], cfg.tokens)
        first, ids, margin = greedy(model, seg0, seg1, embeds[case["image"]], GREEDY_TOKENS, cfg.tokens.eos)
        if margin < MIN_MARGIN:  # a near-tie would make exact greedy parity depend on rounding
            raise SystemExit(f"prompt {i}: greedy top-2 margin {margin:.2e} is too small; change the prompt")
        prompts.append({**case, "seg0_ids": seg0, "seg1_ids": seg1,
                        "first_logits": write_f32(first.numpy(), f"mini/prompt{i:02d}.first_logits.f32"),
                        "greedy_ids": ids, "greedy_text": tok.decode(ids), "greedy_min_margin": round(margin, 6)})

    golden = {
        "about": "Outputs of the PyTorch reference (models/tools/minigptv2) for models/mini; made by "
                 "models/tools/make_mini.py. .f32 files are little-endian float32, row-major, shapes given. "
                 "Tokenizer cases are plain-text encodings (no BOS, no special-token matching).",
        "model": "models/mini",
        "image_size": cfg.vision.image_size,
        "greedy_max_new_tokens": GREEDY_TOKENS,
        "images": images,
        "prompts": prompts,
        "tokenizer": [{"text": t, "ids": tok.encode(t), "decoded": tok.decode(tok.encode(t))}
                      for t in TOKENIZER_CASES],
        "tokenizer_fuzz": [{"text": t, "ids": tok.encode(t)} for t in fuzz_texts(200)],
    }
    (GOLDEN / "mini.json").write_text(json.dumps(golden, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {MODEL_DIR} and {GOLDEN}")


if __name__ == "__main__":
    main()

"""Reads every size from the official files and checks every key and shape the export needs, collecting all
problems into one list so that a broken checkpoint is refused with everything that is wrong at once."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..minigptv2.config import LlmConfig, VisionConfig

from .checkpoints import LlamaFolder, MiniGPTv2Checkpoint, TensorDict

EVA_HEAD_DIM = 88  # EVA ViT-g: 1408 wide, 16 heads
DEFAULT_LORA_ALPHA = 16.0
LORA_PREFIX = "llama_model.base_model.model.model.layers.{i}.self_attn.{proj}.lora_{ab}"
LORA_SPELLINGS = (".weight", ".default.weight")  # peft 0.2.0, and newer peft
# each block tensor's shape from the width w and the MLP width m
EVA_BLOCK_PARTS = {
    "norm1.weight": lambda w, m: (w,), "norm1.bias": lambda w, m: (w,),
    "norm2.weight": lambda w, m: (w,), "norm2.bias": lambda w, m: (w,),
    "attn.qkv.weight": lambda w, m: (3 * w, w), "attn.q_bias": lambda w, m: (w,), "attn.v_bias": lambda w, m: (w,),
    "attn.proj.weight": lambda w, m: (w, w), "attn.proj.bias": lambda w, m: (w,),
    "mlp.fc1.weight": lambda w, m: (m, w), "mlp.fc1.bias": lambda w, m: (m,),
    "mlp.fc2.weight": lambda w, m: (w, m), "mlp.fc2.bias": lambda w, m: (w,),
}


@dataclass
class ExportPlan:
    vision: VisionConfig | None = None
    llm: LlmConfig | None = None
    file_grid: int = 0
    ln_vision_from_checkpoint: bool = False
    lora_keys: dict = field(default_factory=dict)  # (layer, "q_proj"|"v_proj") -> (A key, B key)
    lora_r: int = 0
    lora_alpha: float = DEFAULT_LORA_ALPHA
    lora_alpha_source: str = "default"
    problems: list[str] = field(default_factory=list)

    @property
    def lora_scaling(self) -> float:
        return self.lora_alpha / self.lora_r


def _expect(source, name: str, shape: tuple[int, ...], problems: list[str]) -> bool:
    if name not in source.keys():
        problems.append(f"{source_label(source)}: missing {name} {list(shape)}")
        return False
    if source.shape(name) != shape:
        problems.append(f"{source_label(source)}: {name} has shape {list(source.shape(name))}, expected {list(shape)}")
        return False
    return True


def source_label(source) -> str:
    return getattr(source, "source", None) or str(getattr(source, "folder", "?"))


def plan_vision(eva: TensorDict, image_size: int, plan: ExportPlan, heads: int | None = None) -> None:
    problems = plan.problems
    if "patch_embed.proj.weight" not in eva.keys() or len(eva.shape("patch_embed.proj.weight")) != 4:
        problems.append(f"{eva.source}: missing patch_embed.proj.weight [width, 3, patch, patch]")
        return
    width, _, patch, _ = eva.shape("patch_embed.proj.weight")
    blocks = sorted({int(m.group(1)) for k in eva.keys() if (m := re.match(r"blocks\.(\d+)\.", k))})
    if len(blocks) < 2:
        problems.append(f"{eva.source}: {len(blocks)} transformer blocks; the export drops the last, so it needs 2 or more")
        return
    if heads is None:
        if width % EVA_HEAD_DIM:
            problems.append(f"{eva.source}: width {width} is not a multiple of the EVA head size {EVA_HEAD_DIM}"
                            " (pass --vision-heads for a ViT of another head size)")
            return
        heads = width // EVA_HEAD_DIM
    elif heads <= 0 or width % heads:
        problems.append(f"--vision-heads {heads} does not divide the ViT width {width}")
        return
    mlp = eva.shape("blocks.0.mlp.fc1.weight")[0] if "blocks.0.mlp.fc1.weight" in eva.keys() else 0
    positions = eva.shape("pos_embed")[1] if "pos_embed" in eva.keys() else 0
    file_grid = int(round((positions - 1) ** 0.5)) if positions > 1 else 0
    if file_grid * file_grid + 1 != positions:
        problems.append(f"{eva.source}: pos_embed has {positions} positions, not 1 + a square grid")
    if image_size % patch:
        problems.append(f"--image-size {image_size} is not a multiple of the patch size {patch}")
        return
    _expect(eva, "cls_token", (1, 1, width), problems)
    _expect(eva, "pos_embed", (1, positions, width), problems)
    _expect(eva, "patch_embed.proj.bias", (width,), problems)
    used = range(blocks[-1])  # every block of the file but its last
    for n in used:
        for part, spec in EVA_BLOCK_PARTS.items():
            _expect(eva, f"blocks.{n}.{part}", spec(width, mlp), problems)
        # a layer-scale or relative-position tensor would change the block's math: refuse rather than ignore it
        extra = [k for k in eva.keys() if k.startswith(f"blocks.{n}.") and k[len(f"blocks.{n}."):] not in EVA_BLOCK_PARTS]
        problems.extend(f"{eva.source}: {k} is not part of the EVA ViT-g block this export writes" for k in extra)
    try:
        plan.vision = VisionConfig(image_size=image_size, patch_size=patch, width=width, layers=len(used),
                                   heads=heads, mlp=mlp, concat=4)
    except ValueError as err:
        problems.append(str(err))
    plan.file_grid = file_grid


def plan_llm(llama: LlamaFolder, plan: ExportPlan) -> None:
    c, problems = llama.config, plan.problems
    needed = ["hidden_size", "intermediate_size", "num_attention_heads", "num_hidden_layers", "vocab_size"]
    missing = [k for k in needed if k not in c]
    if missing:
        problems.append(f"{llama.folder}/config.json: missing {', '.join(missing)}")
        return
    d, heads, layers, vocab, mlp = (c["hidden_size"], c["num_attention_heads"], c["num_hidden_layers"],
                                    c["vocab_size"], c["intermediate_size"])
    if c.get("num_key_value_heads", heads) != heads:
        problems.append(f"{llama.folder}/config.json: num_key_value_heads {c['num_key_value_heads']} != "
                        f"num_attention_heads {heads} (grouped-query LLaMA is not MiniGPT-v2's LLaMA-2-7B)")
    if d % heads:
        problems.append(f"{llama.folder}/config.json: hidden_size {d} is not a multiple of num_attention_heads {heads}")
        return
    if not llama.tokenizer_path.is_file():
        problems.append(f"{llama.folder}: missing tokenizer.json")
    _expect(llama, "model.embed_tokens.weight", (vocab, d), problems)
    _expect(llama, "model.norm.weight", (d,), problems)
    _expect(llama, "lm_head.weight", (vocab, d), problems)
    for i in range(layers):
        p = f"model.layers.{i}."
        for name, shape in (("input_layernorm.weight", (d,)), ("post_attention_layernorm.weight", (d,)),
                            ("self_attn.q_proj.weight", (d, d)), ("self_attn.k_proj.weight", (d, d)),
                            ("self_attn.v_proj.weight", (d, d)), ("self_attn.o_proj.weight", (d, d)),
                            ("mlp.gate_proj.weight", (mlp, d)), ("mlp.up_proj.weight", (mlp, d)),
                            ("mlp.down_proj.weight", (d, mlp))):
            _expect(llama, p + name, shape, problems)
    plan.llm = LlmConfig(hidden_size=d, layers=layers, heads=heads, head_dim=d // heads, mlp=mlp, vocab_size=vocab,
                         rope_theta=float(c.get("rope_theta", 10000.0)), rms_norm_eps=float(c.get("rms_norm_eps", 1e-6)),
                         max_positions=int(c.get("max_position_embeddings", 2048)))


def plan_minigptv2(ckpt: MiniGPTv2Checkpoint, plan: ExportPlan) -> None:
    problems = plan.problems
    if plan.vision is None or plan.llm is None:
        return
    d, concat_width = plan.llm.hidden_size, plan.vision.concat * plan.vision.width
    _expect(ckpt, "llama_proj.weight", (d, concat_width), problems)
    _expect(ckpt, "llama_proj.bias", (d,), problems)
    w = plan.vision.width
    has_ln = [k in ckpt.keys() for k in ("ln_vision.weight", "ln_vision.bias")]
    if any(has_ln):
        plan.ln_vision_from_checkpoint = all(_expect(ckpt, k, (w,), problems) for k in ("ln_vision.weight", "ln_vision.bias"))
    ranks = set()
    for i in range(plan.llm.layers):
        for proj in ("q_proj", "v_proj"):
            found = []
            for ab in ("A", "B"):
                base = LORA_PREFIX.format(i=i, proj=proj, ab=ab)
                key = next((base + s for s in LORA_SPELLINGS if base + s in ckpt.keys()), None)
                if key is None:
                    problems.append(f"{ckpt.source}: missing {base}.weight (or {base}.default.weight)")
                    continue
                shape = ckpt.shape(key)
                ok = len(shape) == 2 and (shape[1] == d if ab == "A" else shape[0] == d)
                if not ok:
                    problems.append(f"{ckpt.source}: {key} has shape {list(shape)}, expected "
                                    f"{'[r, %d]' % d if ab == 'A' else '[%d, r]' % d}")
                    continue
                ranks.add(shape[0] if ab == "A" else shape[1])
                found.append(key)
            if len(found) == 2:
                plan.lora_keys[(i, proj)] = tuple(found)
    # LoRA the export does not merge (another module, a layer beyond the LLaMA's) must not vanish silently
    merged = {k for pair in plan.lora_keys.values() for k in pair}
    stray = sorted(k for k in ckpt.keys() if ".lora_" in k and k not in merged and not any(
        k == LORA_PREFIX.format(i=i, proj=proj, ab=ab) + sp for i in range(plan.llm.layers)
        for proj in ("q_proj", "v_proj") for ab in "AB" for sp in LORA_SPELLINGS))
    problems.extend(f"{ckpt.source}: {k} is LoRA on a module this export does not merge" for k in stray)
    if len(ranks) > 1:
        problems.append(f"{ckpt.source}: LoRA tensors disagree on the rank r: {sorted(ranks)}")
    plan.lora_r = next(iter(ranks), 0)
    if ckpt.lora_alpha is not None:
        plan.lora_alpha, plan.lora_alpha_source = ckpt.lora_alpha, "checkpoint config.model.lora_alpha"


def make_plan(eva: TensorDict, ckpt: MiniGPTv2Checkpoint, llama: LlamaFolder, image_size: int,
              vision_heads: int | None = None) -> ExportPlan:
    plan = ExportPlan()
    plan_vision(eva, image_size, plan, vision_heads)
    plan_llm(llama, plan)
    plan_minigptv2(ckpt, plan)
    return plan

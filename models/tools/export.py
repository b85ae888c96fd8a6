"""Export the official MiniGPT-v2 checkpoints into a model directory this project runs:

    /usr/bin/python3 -m models.tools.export --minigptv2 minigptv2_checkpoint.pth --eva eva_vit_g.pth \\
        --llama Llama-2-7b-chat-hf --out models/minigptv2 [--dtype fp32|fp16] [--quantize int8|int4] \\
        [--image-size 448] [--target cpu|webgpu]

Every size is read from the files. Every expected key and shape is checked before anything is written; a
problem stops the export with the whole list (exit 1). The directory appears only once it is complete."""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from .minigptv2.config import ModelConfig, TokensConfig, save_config
from .official.checkpoints import LlamaFolder, MiniGPTv2Checkpoint, load_eva
from .official.decoder_graph import write_decoder, write_embed
from .official.plan import make_plan
from .official.vision_graph import write_vision

BITS = {"int8": 8, "int4": 4}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python3 -m models.tools.export",
                                description="Export official MiniGPT-v2 checkpoints to a model directory.")
    p.add_argument("--minigptv2", required=True, help="MiniGPT-v2 checkpoint .pth (llama_proj + LoRA)")
    p.add_argument("--eva", required=True, help="LAVIS eva_vit_g.pth")
    p.add_argument("--llama", required=True, help="Hugging Face LLaMA folder (config.json, shards, tokenizer.json)")
    p.add_argument("--out", required=True, help="model directory to create (must not exist, or be empty)")
    p.add_argument("--dtype", choices=["fp32", "fp16"], default="fp32", help="storage type of unquantized weights")
    p.add_argument("--quantize", choices=sorted(BITS), help="weight-only quantization of the LLaMA matmuls")
    p.add_argument("--image-size", type=int, default=448, help="square input size in pixels (MiniGPT-v2: 448)")
    p.add_argument("--target", choices=["cpu", "webgpu"], default="cpu",
                   help="webgpu: the GroupQueryAttention int4 fp16 decoder (see models/README.md)")
    p.add_argument("--vision-heads", type=int, default=None,
                   help="ViT heads (default width / 88, as in EVA ViT-g); for ViTs of another head size")
    p.add_argument("--webgpu-activations", choices=["fp16", "fp32"], default="fp16",
                   help="fp32 writes the webgpu graph with fp32 activations, to check it on the CPU EP")
    p.add_argument("--name", default="minigptv2")
    return p.parse_args(argv)


def _config(args, plan, llama) -> ModelConfig:
    c = llama.config
    tokens = TokensConfig(unk=0, bos=int(c.get("bos_token_id", 1)), eos=int(c.get("eos_token_id", 2)))
    variant = ", ".join(x for x in (args.dtype, args.quantize, args.target if args.target != "cpu" else None) if x)
    return ModelConfig(name=args.name, description=f"MiniGPT-v2 exported from the official checkpoints ({variant})",
                       vision=plan.vision, llm=plan.llm, tokens=tokens)


def export(args) -> int:
    if args.target == "webgpu" and args.quantize not in (None, "int4"):
        print("export: --target webgpu writes an int4 decoder; --quantize int8 does not apply", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        print(f"export: {out} exists and is not an empty directory", file=sys.stderr)
        return 2
    try:
        eva, ckpt, llama = load_eva(args.eva), MiniGPTv2Checkpoint(args.minigptv2), LlamaFolder(args.llama)
    except (OSError, ValueError, RuntimeError, KeyError) as err:
        print(f"export: {err}", file=sys.stderr)
        return 2
    plan = make_plan(eva, ckpt, llama, args.image_size, args.vision_heads)
    if plan.problems:
        print(f"export refused: {len(plan.problems)} problem(s), nothing written:", file=sys.stderr)
        for problem in plan.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    v, l = plan.vision, plan.llm
    print(f"vision: EVA width {v.width}, {v.heads} heads, MLP {v.mlp}, {v.layers} of the file's {v.layers + 1} blocks, "
          f"pos_embed {plan.file_grid}x{plan.file_grid} -> {v.grid}x{v.grid}")
    print("ln_vision: " + ("affine from the MiniGPT-v2 checkpoint" if plan.ln_vision_from_checkpoint else
                           "not in the checkpoint: LayerNorm with identity affine (as the official model creates it)"))
    print(f"llm: {l.layers} layers, hidden {l.hidden_size}, {l.heads} heads, MLP {l.mlp}, vocab {l.vocab_size} ({llama.kind})")
    print(f"lora: r {plan.lora_r}, alpha {plan.lora_alpha:g} ({plan.lora_alpha_source}), scaling {plan.lora_scaling:g}, "
          f"merged into q_proj and v_proj of {l.layers} layers")
    bits = BITS.get(args.quantize)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.partial-") as tmp:
        work = Path(tmp)
        write_vision(work / "vision.onnx", eva, ckpt, plan, args.dtype)
        print("wrote vision.onnx", flush=True)
        del eva  # the ViT weights are not needed past this point
        write_embed(work / "embed_tokens.onnx", llama, plan, args.dtype)
        if args.target == "webgpu":
            from .official.webgpu_graph import write_webgpu_decoder
            write_webgpu_decoder(work / "decoder.onnx", llama, ckpt, plan, args.webgpu_activations)
        else:
            write_decoder(work / "decoder.onnx", llama, ckpt, plan, args.dtype, bits)
        print("wrote embed_tokens.onnx, decoder.onnx", flush=True)
        save_config(_config(args, plan, llama), work / "model.json")
        shutil.copyfile(llama.tokenizer_path, work / "tokenizer.json")
        provenance = {"dtype": args.dtype, "quantize": args.quantize, "target": args.target,
                      "image_size": args.image_size, "ln_vision": "checkpoint" if plan.ln_vision_from_checkpoint else "identity",
                      "lora": {"r": plan.lora_r, "alpha": plan.lora_alpha, "scaling": plan.lora_scaling},
                      "inputs": {"minigptv2": str(args.minigptv2), "eva": str(args.eva), "llama": str(args.llama)}}
        (work / "export.json").write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            out.rmdir()
        work.chmod(0o755)  # mkdtemp makes it private
        work.rename(out)
        work.mkdir()  # the context manager removes what it created
    print(f"exported to {out}")
    return 0


def main(argv=None) -> int:
    return export(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

"""Write a project model directory (the trained default, mini) as official-format files, so the exporter makes
its fp16 / int8 / int4 / webgpu variants exactly as it does for the real MiniGPT-v2:

    /usr/bin/python3 -m models.tools.official.from_model_dir --model models/default --out DIR

DIR gets eva_vit_g.pth (the ViT blocks plus a copy of the last one, which the export drops again, as it drops
block 39 of the real file), minigptv2_checkpoint.pth (llama_proj, ln_vision, and rank-8 LoRA tensors of zeros:
the format demands them, the weights already hold everything) and llama/ (config.json, safetensors shards,
tokenizer.json). The export command to run next is printed: the project's ViTs are not 88 wide per head, so it
passes --vision-heads."""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ..official.writers import lora_key, write_llama_folder
from ..official_path import load_model

LORA_R = 8


def convert(model_dir: Path, out: Path) -> str:
    model = load_model(model_dir)
    cfg = model.cfg
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    out.mkdir(parents=True, exist_ok=True)
    eva = {k[len("visual_encoder."):]: v for k, v in sd.items() if k.startswith("visual_encoder.")}
    last = cfg.vision.layers - 1
    eva.update({k.replace(f"blocks.{last}.", f"blocks.{last + 1}.", 1): v.clone()
                for k, v in list(eva.items()) if k.startswith(f"blocks.{last}.")})
    torch.save(eva, out / "eva_vit_g.pth")
    d = cfg.llm.hidden_size
    trained = {k: sd[k] for k in ("llama_proj.weight", "llama_proj.bias", "ln_vision.weight", "ln_vision.bias")}
    for i in range(cfg.llm.layers):
        for proj in ("q_proj", "v_proj"):
            trained[lora_key(i, proj, "A")] = torch.zeros(LORA_R, d)
            trained[lora_key(i, proj, "B")] = torch.zeros(d, LORA_R)
    torch.save({"model": trained, "config": {"model": {"lora_r": LORA_R, "lora_alpha": 16}}}, out / "minigptv2_checkpoint.pth")
    llama = {k[len("llama_model."):]: v.float() for k, v in sd.items() if k.startswith("llama_model.")}
    l = cfg.llm
    write_llama_folder(out / "llama", llama, {
        "hidden_size": l.hidden_size, "intermediate_size": l.mlp, "num_attention_heads": l.heads,
        "num_key_value_heads": l.heads, "num_hidden_layers": l.layers, "vocab_size": l.vocab_size,
        "rms_norm_eps": l.rms_norm_eps, "rope_theta": l.rope_theta, "max_position_embeddings": l.max_positions,
        "bos_token_id": cfg.tokens.bos, "eos_token_id": cfg.tokens.eos}, model_dir / "tokenizer.json")
    return (f"--minigptv2 {out}/minigptv2_checkpoint.pth --eva {out}/eva_vit_g.pth --llama {out}/llama "
            f"--image-size {cfg.vision.image_size} --vision-heads {cfg.vision.heads} --name {cfg.name}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog=f"python3 -m {__spec__.name}", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="model directory")
    p.add_argument("--out", required=True, help="folder for the official-format files")
    args = p.parse_args(argv)
    flags = convert(Path(args.model), Path(args.out))
    print(f"next: /usr/bin/python3 -m models.tools.export {flags} --out OUT [--dtype fp16] [--quantize int8|int4]")


if __name__ == "__main__":
    main()

"""The parts of model.json as dataclasses (snake_case keys, exactly as stored)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

FORMAT = "minigpt-bot/1"
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


@dataclass
class VisionConfig:
    image_size: int
    patch_size: int
    width: int
    layers: int
    heads: int
    mlp: int
    concat: int = 4
    tokens: int = 0  # derived when 0
    mean: list = field(default_factory=lambda: list(CLIP_MEAN))
    std: list = field(default_factory=lambda: list(CLIP_STD))
    resample: str = "bicubic"

    def __post_init__(self):
        if self.image_size % self.patch_size:
            raise ValueError("vision.image_size must be a multiple of vision.patch_size")
        patches = self.grid ** 2
        if patches % self.concat:
            raise ValueError("vision: the number of patches must be a multiple of vision.concat")
        if self.tokens == 0:
            self.tokens = patches // self.concat
        if self.tokens != patches // self.concat:
            raise ValueError(f"vision.tokens must be {patches // self.concat} for this image/patch size")
        if self.width % self.heads:
            raise ValueError("vision.width must be a multiple of vision.heads")

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size


@dataclass
class LlmConfig:
    hidden_size: int
    layers: int
    heads: int
    head_dim: int
    mlp: int
    vocab_size: int
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-6
    max_positions: int = 2048

    def __post_init__(self):
        if self.heads * self.head_dim != self.hidden_size:
            raise ValueError("llm.heads * llm.head_dim must equal llm.hidden_size")


@dataclass
class TokensConfig:
    unk: int = 0
    bos: int = 1
    eos: int = 2


DEFAULT_TASKS = {"vqa": "[vqa]", "caption": "[caption]", "grounding": "[grounding]", "refer": "[refer]",
                 "identify": "[identify]", "detection": "[detection]", "chat": ""}


@dataclass
class PromptConfig:
    first: str = "<s>[INST] <Img><ImageHere></Img> {question} [/INST]"
    turn: str = " {answer}</s><s>[INST] {question} [/INST]"
    tasks: dict = field(default_factory=lambda: dict(DEFAULT_TASKS))


@dataclass
class GenerationConfig:
    max_new_tokens: int = 500
    do_sample: bool = True
    temperature: float = 0.6
    top_k: int = 50
    top_p: float = 0.9
    repetition_penalty: float = 1.05
    min_length: int = 1
    context_limit: int = 2000
    # Earlier turns a prompt carries at most (the latest ones); None: as many as context_limit holds.
    history_turns: int | None = None


@dataclass
class ModelConfig:
    name: str
    description: str
    vision: VisionConfig
    llm: LlmConfig
    tokens: TokensConfig = field(default_factory=TokensConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    format: str = FORMAT
    # The world a narrow model knows, told to users once per conversation; None for a general model.
    domain: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        # key order as documented: format first; domain only when the model declares one
        domain = d.pop("domain")
        return {"format": d.pop("format"), **d, **({"domain": domain} if domain is not None else {})}

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        if d.get("format") != FORMAT:
            raise ValueError(f"model.json: format must be {FORMAT!r}, got {d.get('format')!r}")
        for key in ("name", "description"):
            if key not in d:
                raise ValueError(f"model.json: missing key {key!r}")
        parts = {key: _section(d, key, kind) for key, kind in
                 (("vision", VisionConfig), ("llm", LlmConfig), ("tokens", TokensConfig), ("prompt", PromptConfig),
                  ("generation", GenerationConfig))}
        return cls(name=d["name"], description=d["description"], domain=d.get("domain"), **parts)


def _section(d: dict, key: str, kind):
    """Every key of a section is required (defaults exist only for building configs in code)."""
    section = d.get(key)
    if not isinstance(section, dict):
        raise ValueError(f"model.json: missing key {key!r}")
    names = [f.name for f in fields(kind)]
    for name in names:
        if name not in section:
            raise ValueError(f"model.json: missing key '{key}.{name}'")
    unknown = sorted(set(section) - set(names))
    if unknown:
        raise ValueError(f"model.json: unknown key '{key}.{unknown[0]}'")
    return kind(**section)


def load_config(path: str | Path) -> ModelConfig:
    return ModelConfig.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def save_config(cfg: ModelConfig, path: str | Path) -> None:
    Path(path).write_text(json.dumps(cfg.to_dict(), indent=2) + "\n", encoding="utf-8")

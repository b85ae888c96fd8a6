"""What the default model is and how it is trained: its configuration, the stages, seeds and hyperparameters."""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..minigptv2.config import GenerationConfig, LlmConfig, ModelConfig, PromptConfig, VisionConfig
from ..world import MAX_OBJECTS

TRAIN_SEED = 1_000_000          # training scenes are TRAIN_SEED + n; held-out sets use seeds far from these
QUICK_EVAL_SEED = 900_000_000
VISION_SEED = 300_000_000       # stage 0 scenes are VISION_SEED + n
VISION_CHECK_SEED = 910_000_000
VISION_STEPS, VISION_IMAGES, VISION_LR = 15000, 16, 2e-3


@dataclass(frozen=True)
class Stage:
    name: str
    share: float                 # of the time (or step) budget
    weights: dict                # task -> sampling weight
    conversation_rate: float     # fraction of prompts that are 2-3 turn conversations
    max_objects: int             # scenes of this stage hold 1..max_objects objects


STAGES = (
    # Few objects first: with one or two objects the answer hardly depends on picking the right image tokens, so
    # the LLM learns to read positions and names off the image before it has to learn to choose between objects.
    Stage("1-pretrain", 0.30, {"grounding": 3, "caption": 2, "identify": 2, "vqa": 1, "refer": 1, "detection": 1,
                               "chat": 0}, 0.0, 2),
    Stage("2-multitask", 0.45, {"grounding": 2, "caption": 1, "identify": 2, "vqa": 2, "refer": 3, "detection": 2,
                                "chat": 0}, 0.0, MAX_OBJECTS),
    Stage("3-instruct", 0.25, {"grounding": 2, "caption": 1, "identify": 2, "vqa": 2, "refer": 2, "detection": 2,
                               "chat": 1}, 0.5, MAX_OBJECTS),
)
IMAGES_PER_STEP = 8
CONVERSATION_TURNS = 3           # stage 3 conversations have 2..3 turns; model.json's history_turns is one less
PROMPTS_PER_IMAGE = 4
# --extreme-share: that fraction of the training scenes is drawn with one side at most EXTREME_SHORT px and the
# other at least EXTREME_LONG (aspect 2 to 2.5, either way round), where the uniform draw puts about 3 % of them
EXTREME_SHORT, EXTREME_LONG = 288, 576
PEAK_LR, WARMUP_STEPS, MIN_LR_RATIO, WEIGHT_DECAY = 1e-3, 30, 0.05, 0.01


SHAPES_DOMAIN = "scenes of circles, squares, triangles and stars in six colours"


def default_config(identifiers: bool) -> ModelConfig:
    tasks = dict(PromptConfig().tasks) if identifiers else {t: "" for t in PromptConfig().tasks}
    return ModelConfig(
        name="default" if identifiers else "default-no-identifiers",
        description="small MiniGPT-v2 trained on synthetic scenes of coloured shapes (models/tools/train.py)"
        + ("" if identifiers else "; ablation without task identifiers"),
        vision=VisionConfig(image_size=112, patch_size=14, width=128, layers=3, heads=4, mlp=384, concat=4),
        llm=LlmConfig(hidden_size=128, layers=4, heads=4, head_dim=32, mlp=352, vocab_size=1000,
                      rope_theta=10000.0, rms_norm_eps=1e-6, max_positions=2048),
        prompt=PromptConfig(tasks=tasks),
        domain=SHAPES_DOMAIN,
        # answers are exact, so greedy; a 4-object grounded caption is about 120 tokens; a prompt carries no more
        # earlier turns than training conversations had
        generation=GenerationConfig(max_new_tokens=160, do_sample=False, temperature=1.0, top_k=0, top_p=1.0,
                                    repetition_penalty=1.0, min_length=1, context_limit=2000,
                                    history_turns=CONVERSATION_TURNS - 1))


def toy_config(identifiers: bool) -> ModelConfig:
    cfg = default_config(identifiers)
    return replace(cfg, vision=VisionConfig(image_size=32, patch_size=8, width=32, layers=1, heads=2, mlp=64),
                   llm=LlmConfig(hidden_size=32, layers=2, heads=4, head_dim=8, mlp=64, vocab_size=1000))

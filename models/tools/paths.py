"""Where the tools find the repository's files, and how one tool runs another."""
from __future__ import annotations

import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parents[1]
TOKENIZER = TOOLS / "tokenizer.json"  # the project's tokenizer (build_tokenizer)


def tool(name: str, *args: str, python: str = sys.executable) -> list[str]:
    """The command line of tool `name` (a module of this package); run it with the repository root as cwd."""
    return [python, "-m", f"{__package__}.{name}", *args]

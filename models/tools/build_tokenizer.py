"""Build models/tools/tokenizer.json from the project corpus (about a minute on one core):
    /usr/bin/python3 -m models.tools.build_tokenizer [OUT]"""
import sys
from pathlib import Path

from .minigptv2.corpus import project_corpus
from .minigptv2.tokenizer import write_tokenizer
from .paths import TOKENIZER

VOCAB_SIZE = 1000

if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else TOKENIZER
    write_tokenizer(project_corpus(), VOCAB_SIZE, out)
    print(f"wrote {out}")

"""Build models/tools/tokenizer.json from the project corpus (about a minute on one core):
    /usr/bin/python3 models/tools/build_tokenizer.py [OUT]"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from minigptv2.corpus import project_corpus  # noqa: E402
from minigptv2.tokenizer import write_tokenizer  # noqa: E402

VOCAB_SIZE = 1000

if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "tokenizer.json"
    write_tokenizer(project_corpus(), VOCAB_SIZE, out)
    print(f"wrote {out}")

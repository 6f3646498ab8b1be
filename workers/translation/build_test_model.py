"""`python -m workers.translation.build_test_model OUT --from en --to es` (development only).

Writes a structurally real `.argosmodel` (sentencepiece + CTranslate2 transformer) with
RANDOM weights: it runs through argostranslate exactly like a real package, offline, but its
output is gibberish. For tests and for seeing the argos path work; never for real requests.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from workers.translation.model_builder import build_argos_package


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="rogatory models build-test-model")
    parser.add_argument("out", type=Path)
    parser.add_argument("--from", dest="from_code", required=True)
    parser.add_argument("--to", dest="to_code", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    return build_argos_package(
        args.out, from_code=args.from_code, to_code=args.to_code, seed=args.seed
    )


if __name__ == "__main__":
    print(main())

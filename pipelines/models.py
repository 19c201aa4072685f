"""Fetch the bundled models into the local cache ahead of a run: python -m pipelines.models [NAME ...]"""

from __future__ import annotations

import sys

from curation.model_store import KNOWN_MODELS, resolve_model


def main(argv: list[str]) -> None:
    for name in argv or sorted(KNOWN_MODELS):
        print(f"{name}: {resolve_model(name)}")


if __name__ == "__main__":
    main(sys.argv[1:])

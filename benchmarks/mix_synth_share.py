"""Synthetic share of the stage shards under ``mix.synth`` settings (follow-up of issues 7/8).

    python benchmarks/mix_synth_share.py

The corpus of tests/pipelines/test_mix_synth.py (24 real-text curated documents with labels, 30 SynthRecord rows:
math / code / explanation, 10 each) mixed by the whole ``pipelines.mix`` job under three settings: the defaults
(source weight 0.5, pool cap 0.2), no cap, and no cap with weight 1. Prints the synthetic share of each stage's tokens
(from the stage manifests) next to the configured cap, the limit measured in the same run.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pipelines.test_mix_synth import make_corpus, make_records, run_mix

SETTINGS = (
    ("defaults (weight 0.5, cap 0.2)", [], 0.2),
    ("no cap, weight 0.5", ["mix.synth.max_share=null"], None),
    ("no cap, weight 1.0", ["mix.synth.max_share=null", "mix.synth.weight=1.0"], None),
)


def main() -> None:
    corpus = make_corpus()
    records = make_records(corpus)
    curated = sum(d["n_chars"] for d in corpus[0])
    synthetic = sum(r["n_chars"] for r in records)
    print(f"pool: curated {curated} chars, synthetic {synthetic} chars ({synthetic / (curated + synthetic):.1%})")
    print(f"{'setting':32} {'stage':5} {'tokens':>7} {'synth':>6} {'share':>6} {'cap':>5} {'share/cap':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, sets, cap) in enumerate(SETTINGS):
            out = run_mix(Path(tmp) / str(i), corpus, records, *sets)
            for stage in ("S1", "S2"):
                m = json.loads((out / "shards" / stage / "manifest.json").read_text())
                syn = sum(v for k, v in m["tokens_by"]["source"].items() if k.startswith("synth/"))
                share = syn / m["totals"]["tokens"]
                ratio = f"{share / cap:9.2f}" if cap else f"{'-':>9}"
                print(f"{label:32} {stage:5} {m['totals']['tokens']:7d} {syn:6d} {share:6.1%} {cap or '-':>5} {ratio}")


if __name__ == "__main__":
    main()

"""The mixture ablation (``python -m pipelines.mix --ablation``) as a benchmark (issue 8).

    python benchmarks/mix_ablation.py [--device cpu|cuda] [--preset small|gpu|tiny] [--k 16] [--base S1] [--seeds 0,1]
                                      [--steps N] [--megabytes 6] [--keep DIR] [--corpus-only] [--run DIR]

The corpus is built from ~/.cache/curation-factory/corpora; for a machine without it (the GPU box) build the run
directory here with ``--keep DIR --corpus-only`` and pass ``--run DIR/out`` there (it is ~3 MB of Parquet).

On a real multilingual corpus whose three domain groups differ in text (benchmarks/mix_corpus.py: manpages = code,
Debian manuals = stem, fortunes + Django message catalogues = other), re-weighting the domain groups of ``--base``
(S1 by default: all three groups are eligible). Reports, in one run, and prints as tables:

* every candidate's objective per proxy seed and its leave-one-out prediction; the regressions tried (linear,
  log-weights, quadratic × ridge penalties) with their LOO error and Spearman, the chosen one marked;
* time per proxy run (training + evaluation on every target set) on ``--device``, and training bytes/s;
* rank stability of the candidates across two proxy seeds (Spearman of their objectives);
* whether the regression's predicted best mixture beats the base recipe on held-out loss, both trained with fresh
  proxy seeds never used for fitting, and the gain against its standard error (seed noise measured in the same run).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.mix_corpus import ABLATION_SOURCES, build_docs, write_run
from pipelines.ablation import run_ablation
from pipelines.config import load_config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--preset", default=None, help="proxy preset (default: tiny on cpu, gpu on cuda)")
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--base", default="S1", help="recipe to re-weight (S1: all three domain groups are eligible)")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--steps", type=int, default=None, help="override the preset's steps (cpu default: 300)")
    parser.add_argument("--tokens", type=int, default=400_000, help="token budget of each candidate shard")
    parser.add_argument("--megabytes", type=float, default=6.0)
    parser.add_argument("--keep", default=None)
    parser.add_argument("--corpus-only", action="store_true", help="write the run directory and stop")
    parser.add_argument("--run", default=None, help="an existing run directory (documents + annotations) to use")
    args = parser.parse_args(argv)
    preset = args.preset or ("tiny" if args.device == "cpu" else "gpu")
    if args.run:
        out = Path(args.run)
        print(f"corpus: the run directory {out}")
    else:
        out = Path(args.keep or tempfile.mkdtemp(prefix="mix-ablation-")) / "out"
        docs = build_docs(args.megabytes, sources=ABLATION_SOURCES)
        write_run(out, docs)
        print(f"corpus: {len(docs):,} documents, {sum(d['n_tokens'] for d in docs):,} Qwen tokens; out {out}")
        if args.corpus_only:
            return
    overrides = [
        f"mix.ablation.k={args.k}",
        f"mix.ablation.base={args.base}",
        f"mix.ablation.proxy={preset}",
        f"mix.ablation.seeds=[{args.seeds}]",
        f"mix.ablation.tokens={args.tokens}",
        "mix.ablation.heldout_share=0.1",
        "mix.ablation.eval_bytes=60000",
        "mix.ablation.min_target_bytes=20000",
    ]
    if args.steps is None and args.device == "cpu" and preset == "tiny":
        args.steps = 300
    if args.steps:
        overrides.append(f"mix.ablation.presets.{preset}.steps={args.steps}")
    config = load_config(None, overrides)
    config["run"]["output"] = str(out)
    t0 = time.perf_counter()
    res = run_ablation(config, ["--direct_num_workers=1", "--direct_running_mode=in_memory"], device=args.device)
    wall = time.perf_counter() - t0

    keys = sorted(res["predicted_best"]["weights"])
    print(f"\nproxy {res['proxy']} on {res['device']}; targets: {', '.join(res['targets'])}")
    print(f"{'candidate':<9} | " + " | ".join(f"{k:>6}" for k in keys) + " | objective (bits/byte) per seed | LOO pred")
    seconds, seeds_gap = [], []
    for c in res["candidates"]:
        seconds += c["seconds"]
        per_seed = c["objective_per_seed"]
        if len(per_seed) >= 2:
            seeds_gap.append(abs(per_seed[0] - per_seed[1]))
        cells = " | ".join(f"{c['weights'][k]:6.3f}" for k in keys)
        loo = c.get("loo_prediction")
        print(
            f"{c['name']:<9} | {cells} | " + ", ".join(f"{v:.4f}" for v in per_seed) + f"  mean {c['objective']:.4f}"
            f" | {'—' if loo is None else f'{loo:.4f}'}"
        )
    reg = res["regression"]
    print("\nregression (ridge on standardised features), leave-one-out over the candidates:")
    print(f"{'features':<10} | {'lambda':>6} | LOO MSE    | LOO Spearman")
    for feat in dict.fromkeys(r["features"] for r in reg["candidates"]):
        r = min((r for r in reg["candidates"] if r["features"] == feat), key=lambda r: r["loo_mse"])
        mark = "  <- chosen" if (feat, r["lam"]) == (reg["features"], reg["lam"]) else ""
        print(f"{feat:<10} | {r['lam']:>6g} | {r['loo_mse']:.3e}  | {r['loo_spearman']:+.3f}{mark}")
    best = res["predicted_best"]
    cells = " | ".join(f"{best['weights'][k]:6.3f}" for k in keys)
    base_cells = " | ".join(f"{res['candidates'][0]['weights'][k]:6.3f}" for k in keys)
    print(f"\nverification with fresh proxy seeds {best['verify_seeds']} (not used for fitting):")
    print(f"{'recipe':<9} | " + " | ".join(f"{k:>6}" for k in keys) + " | objective per seed        | mean")
    for name, c, per_seed, mean in (
        ("BEST", cells, best["objective_per_seed"], best["objective"]),
        ("BASE", base_cells, best["base_objective_per_seed"], best["base_objective"]),
    ):
        print(f"{name:<9} | {c} | " + ", ".join(f"{v:.4f}" for v in per_seed) + f" | {mean:.4f}")
    print(f"predicted objective of BEST: {best['predicted_objective']:.4f}")
    cfg = res["proxy"]
    trained_bytes = cfg["steps"] * cfg["batch_size"] * cfg["context"]
    mean_s = sum(seconds) / len(seconds)
    print(f"\ntime per proxy run: {mean_s:.2f} s mean ({min(seconds):.2f}–{max(seconds):.2f}), "
          f"{trained_bytes / mean_s:,.0f} training bytes/s; whole ablation {wall:.1f} s")  # fmt: skip
    if "rank_stability_spearman" in res:
        print(f"rank stability across seeds {res['seeds'][:2]} (Spearman): {res['rank_stability_spearman']:.3f}")
    print(f"regression fit: {reg['features']} (lambda {reg['lam']:g}), LOO Spearman {reg['loo_spearman']:.3f}")
    noise = sum(seeds_gap) / len(seeds_gap) if seeds_gap else float("nan")
    paired = ", ".join(f"{g:+.4f}" for g in best["paired_gains"])
    print(f"predicted best vs base on held-out loss: {best['objective']:.4f} vs {best['base_objective']:.4f} "
          f"(gain {best['gain']:+.4f} bits/byte, per fresh seed {paired})")  # fmt: skip
    print(f"-> the predicted best beats the base: {best['beats_base']}")
    print(f"seed noise: sigma {best['seed_sigma']:.4f} per run (pooled over candidates; mean |seed0 - seed1| "
          f"{noise:.4f}); gain standard error {best['gain_stderr']:.4f}; gain / stderr = "
          f"{best['gain'] / best['gain_stderr']:.2f}")  # fmt: skip
    print(f"-> significant (gain > 2 stderr and positive for every fresh seed): {best['significant']}")
    print(f"report: {res['report']}")


if __name__ == "__main__":
    main()

"""The mixture ablation behind ``python -m pipelines.mix --ablation`` (RegMix-style; config ``mix.ablation``).

1. Candidates: K recipes = the base recipe with the ``dimension``'s group weights replaced by Dirichlet samples
   around the base's (candidate 0 is the base), each with a small token budget. Only groups with eligible tokens
   take part (a combine over the corpus finds them), so the weights regressed on are the mixture actually realised.
2. One Beam job writes every candidate's shard (the same `BuildStageShards` as the stages) and the held-out target
   documents: a hash share of the corpus kept out of every candidate shard.
3. A proxy LM per candidate (``curation.proxy_lm``; preset sizes in config, ``--device`` for a GPU), evaluated in
   bits per byte on each target set (one per domain group and per language with enough held-out text); the
   objective is their mean. With several ``seeds`` every candidate is trained once per seed and the rank
   stability across seeds (Spearman) is reported.
4. A ridge regression from weights to objective (features: the weights, plus log-weights or pairwise products;
   ``regression: auto`` picks features and penalty by leave-one-out error on the candidates), the predicted best
   mixture, and (``verify_best``) a second job + proxy training of the predicted best and of the base with fresh
   ``verify_seeds`` never used for fitting, compared on held-out loss against the measured seed noise.
5. ``<output>/ablation/results.json`` and ``report.html`` (table + plots).
"""

from __future__ import annotations

import glob
import html
import json
import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from curation.mixture import Recipe, dimension_value, eligible, is_heldout, profile_item, with_targets
from curation.proxy_lm import ProxyConfig, train_and_evaluate
from curation.regmix import FEATURES, Ridge, candidates, normalise, predicted_best, select_regression, spearman
from pipelines import layout
from pipelines.atomic import write_atomic
from pipelines.mix import mix_recipes, read_annotated
from pipelines.mixing import BuildStageShards, ShardSpec
from pipelines.options import beam_options
from pipelines.report import STYLE, _table, bar_chart, scatter_plot

log = logging.getLogger(__name__)
DIMENSIONS = ("domain", "lang", "source")
HELDOUT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.large_string()),
        ("lang", pa.string()),
        ("domain", pa.string()),
        ("source", pa.string()),
    ]
)


def ablation_settings(config: Mapping[str, Any], device: str | None = None) -> dict[str, Any]:
    ab = dict(config["mix"]["ablation"])
    if ab["dimension"] not in DIMENSIONS:
        raise ValueError(f"mix.ablation.dimension: one of {DIMENSIONS}")
    proxy = ab["proxy"]
    proxy_cfg = ab["presets"][proxy] if isinstance(proxy, str) else proxy
    ab["proxy_config"] = ProxyConfig.from_mapping(proxy_cfg)
    ab["device"] = device or ab.get("device", "cpu")
    ab["seeds"] = [int(s) for s in ab.get("seeds", [ab.get("seed", 0)])]
    ab["verify_seeds"] = [int(s) for s in ab.get("verify_seeds") or [1000 + s for s in ab["seeds"]]]
    if set(ab["verify_seeds"]) & set(ab["seeds"]):
        raise ValueError("mix.ablation.verify_seeds must differ from seeds (the check must not reuse fitted runs)")
    regression = ab.get("regression", "auto")
    if regression != "auto" and regression not in FEATURES:
        raise ValueError(f"mix.ablation.regression: auto or one of {FEATURES}")
    ab["regression"] = regression
    return ab


def _keyed_tokens(doc: dict, recipe: Recipe, dim: str):
    item = profile_item(doc, recipe) if eligible(doc, recipe) else None
    if item is not None:
        yield dimension_value(doc, dim, recipe), item[1]["wtokens"]


def natural_weights(config: dict, beam_argv: Sequence[str], base: Recipe, dim: str, use_annotations: bool) -> dict:
    """Weighted token shares of the dimension's values among the base's eligible documents (a combine, one job)."""
    out = config["run"]["output"]
    share, seed = float(config["mix"]["ablation"]["heldout_share"]), int(config["mix"]["ablation"]["seed"])
    path = FileSystems.join(layout.ablation_dir(out), "natural_weights.json")
    with beam.Pipeline(options=beam_options(beam_argv)) as p:
        (
            read_annotated(p, out, use_annotations)
            | "Train" >> beam.Filter(lambda d: not is_heldout(d["id"], share, seed))
            | "Tokens" >> beam.FlatMap(_keyed_tokens, base, dim)
            | "Sum" >> beam.CombinePerKey(sum)
            | "All" >> beam.combiners.ToDict()
            | "ToJson" >> beam.Map(lambda d: json.dumps(d, sort_keys=True))
            | "Write" >> beam.io.WriteToText(path, num_shards=1, shard_name_template="")
        )
    with FileSystems.open(path) as f:
        totals = json.loads(f.read())
    if not totals:
        raise ValueError(f"ablation: no eligible documents for recipe {base.name}")
    return normalise(totals)


def _heldout_row(doc: dict) -> dict:
    return {k: doc.get(k) for k in HELDOUT_SCHEMA.names}


def build_candidate_shards(
    config: dict, beam_argv: Sequence[str], recipes: Sequence[Recipe], with_heldout: bool, use_annotations: bool
) -> dict[str, dict]:
    """One Beam job: the candidates' shards under ``ablation/shards`` (+ the held-out set); returns the manifests."""
    out = config["run"]["output"]
    root = layout.ablation_dir(out)
    share, seed = float(config["mix"]["ablation"]["heldout_share"]), int(config["mix"]["ablation"]["seed"])
    manifest_path = FileSystems.join(root, f"manifests-{recipes[0].name}.jsonl")
    with beam.Pipeline(options=beam_options(beam_argv)) as p:
        docs = read_annotated(p, out, use_annotations)
        train = docs | "Train" >> beam.Filter(lambda d: not is_heldout(d["id"], share, seed))
        manifests = train | "Shards" >> BuildStageShards(recipes, FileSystems.join(root, "shards"), ShardSpec())
        (
            manifests
            | "ToJson" >> beam.Map(lambda m: json.dumps(m, sort_keys=True))
            | "WriteManifests" >> beam.io.WriteToText(manifest_path, num_shards=1, shard_name_template="")
        )
        if with_heldout:
            (
                docs
                | "HeldOut" >> beam.Filter(lambda d: is_heldout(d["id"], share, seed))
                | "HeldOutRows" >> beam.Map(_heldout_row)
                | "WriteHeldOut"
                >> beam.io.WriteToParquet(
                    FileSystems.join(root, "heldout"), HELDOUT_SCHEMA, file_name_suffix=".parquet", num_shards=1
                )
            )
    with FileSystems.open(manifest_path) as f:
        return {m["stage"]: m for m in map(json.loads, f.read().decode().splitlines())}


def target_sets(root: str, ab: Mapping[str, Any]) -> dict[str, bytes]:
    """Held-out bytes per domain group and per language (``domain=stem``, ``lang=rus_Cyrl`` ...), each capped."""
    rows = [
        r for f in sorted(glob.glob(FileSystems.join(root, "heldout*.parquet"))) for r in pq.read_table(f).to_pylist()
    ]
    rows.sort(key=lambda r: r["id"])
    sets: dict[str, bytearray] = {}
    for row in rows:
        for dim in ("domain", "lang"):
            name = f"{dim}={row[dim] or 'und'}"
            buf = sets.setdefault(name, bytearray())
            if len(buf) < ab["eval_bytes"]:
                buf.extend(row["text"].encode("utf-8")[: ab["eval_bytes"] - len(buf)] + b"\n\n")
    return {k: bytes(v) for k, v in sorted(sets.items()) if len(v) >= ab["min_target_bytes"]}


def shard_texts(root: str, name: str) -> list[str]:
    files = sorted(glob.glob(FileSystems.join(root, "shards", name, "part-*.parquet")))
    return [t for f in files for t in pq.read_table(f, columns=["text"]).column("text").to_pylist()]


def train_candidate(
    root: str, name: str, targets: Mapping[str, bytes], ab: Mapping[str, Any], seeds: Sequence[int] | None = None
) -> dict[str, Any]:
    """One proxy per seed on the candidate's shard; the same seeds for every candidate (common random numbers: the
    initial weights and the window positions drawn are the same, so candidates differ by their data)."""
    texts = shard_texts(root, name)
    seeds = ab["seeds"] if seeds is None else seeds
    runs = [train_and_evaluate(texts, targets, ab["proxy_config"], seed, ab["device"]) for seed in seeds]
    per_seed = [sum(r.losses.values()) / len(r.losses) for r in runs]
    losses = {t: sum(r.losses[t] for r in runs) / len(runs) for t in targets}
    log.info(
        "ablation: %s trained (%s), objective %.4f",
        name,
        ", ".join(f"{r.seconds:.1f} s" for r in runs),
        sum(per_seed) / len(per_seed),
    )
    return {
        "losses": losses,
        "objective": sum(per_seed) / len(per_seed),
        "objective_per_seed": per_seed,
        "seconds": [r.seconds for r in runs],
        "parameters": runs[0].parameters,
    }


def run_ablation(
    config: dict, beam_argv: Sequence[str], device: str | None = None, use_annotations: bool = True
) -> dict[str, Any]:
    ab = ablation_settings(config, device)
    out = config["run"]["output"]
    root = layout.ablation_dir(out)
    recipes = {r.name: r for r in mix_recipes(config)}
    if ab["base"] not in recipes:
        raise ValueError(f"mix.ablation.base: {ab['base']!r} is not a stage ({sorted(recipes)})")
    base = recipes[ab["base"]]
    dim = ab["dimension"]
    natural = natural_weights(config, beam_argv, base, dim, use_annotations)  # also: which values exist at all
    balance = base.balanced.get(dim)
    base_weights = natural
    if balance is not None and balance.method == "weights":
        given = {v: balance.weights.get(v, balance.weights.get("*", 0.0)) for v in natural}
        if sum(given.values()) > 0:  # groups without eligible tokens get no share in any recipe: leave them out
            base_weights = normalise(given)
    mixtures = candidates(base_weights, int(ab["k"]), float(ab["concentration"]), int(ab["seed"]))
    budget = int(float(ab["tokens"]))
    draw = dict(budget_tokens=budget, draw_name=f"{base.name}-ablation")  # one draw for all: common random numbers
    cands = [with_targets(base, dim, m, name=f"C{i:02d}", **draw) for i, m in enumerate(mixtures)]
    manifests = build_candidate_shards(config, beam_argv, cands, True, use_annotations)
    targets = target_sets(root, ab)
    if not targets:
        raise ValueError("ablation: no held-out target set has min_target_bytes; raise mix.ablation.heldout_share")
    results = []
    for recipe, mixture in zip(cands, mixtures, strict=True):
        tokens = manifests[recipe.name]["totals"]["tokens"]
        trained = train_candidate(root, recipe.name, targets, ab) if tokens else None
        results.append(
            {
                "name": recipe.name,
                "recipe_id": recipe.recipe_id,
                "weights": mixture,
                "tokens": tokens,
                **(trained or {"objective": None}),
            }
        )
    fitted = [r for r in results if r["objective"] is not None]
    y = [r["objective"] for r in fitted]
    mixes = [r["weights"] for r in fitted]
    features = FEATURES if ab["regression"] == "auto" else (ab["regression"],)
    selection = select_regression(mixes, y, features) if len(fitted) >= 3 else None
    model = Ridge.fit(mixes, y, *((selection.lam, selection.features) if selection else ()))
    for r, p in zip(fitted, selection.loo if selection else [None] * len(fitted), strict=True):
        r["loo_prediction"] = p
    best_weights = predicted_best(model, base_weights, float(ab["concentration"]), int(ab["seed"]))
    summary: dict[str, Any] = {
        "base": base.name,
        "dimension": dim,
        "targets": sorted(targets),
        "proxy": vars(ab["proxy_config"]),
        "device": ab["device"],
        "seeds": ab["seeds"],
        "candidates": results,
        "regression": {
            "keys": list(model.keys),
            "features": model.features,
            "lam": model.lam,
            "coef": [float(c) for c in model.coef],
            "intercept": model.intercept,
            "loo_spearman": spearman([r["loo_prediction"] for r in fitted], y) if selection else None,
            "candidates": selection.table if selection else [],
        },
        "predicted_best": {"weights": best_weights, "predicted_objective": float(model.predict([best_weights])[0])},
    }
    if len(ab["seeds"]) >= 2 and len(fitted) >= 2:
        per_seed = list(zip(*[r["objective_per_seed"] for r in fitted], strict=True))
        summary["rank_stability_spearman"] = spearman(per_seed[0], per_seed[1])
    if ab.get("verify_best", True):
        summary["predicted_best"].update(
            verify_best(config, beam_argv, base, dim, best_weights, targets, ab, fitted, use_annotations)
        )
    summary["plans"] = {n: m["plan"]["target_shares"] for n, m in sorted(manifests.items())}
    results = json.dumps(summary, indent=1, sort_keys=True, default=float).encode()
    write_atomic(FileSystems.join(root, "results.json"), results)
    report = write_atomic(FileSystems.join(root, "report.html"), render_ablation_report(summary).encode())
    summary["report"] = report
    return summary


def verify_best(
    config: dict,
    beam_argv: Sequence[str],
    base: Recipe,
    dim: str,
    best_weights: Mapping[str, float],
    targets: Mapping[str, bytes],
    ab: Mapping[str, Any],
    fitted: Sequence[Mapping[str, Any]],
    use_annotations: bool = True,
) -> dict[str, Any]:
    """Train the predicted best and the base with fresh seeds (``verify_seeds``: never used for fitting) on a fresh
    document draw, and compare them on held-out loss: the check is out of sample for both noise sources.

    The gain is significant when it exceeds twice its standard error, estimated from the seed-to-seed spread of the
    fitted candidates (pooled variance of their per-seed objectives), and every paired seed agrees.
    """
    budget = int(float(ab["tokens"]))
    # A fresh document draw (shared by both: paired) and fresh proxy seeds: the regression cannot have fitted the
    # particular documents or initialisations the check uses.
    draw = dict(budget_tokens=budget, draw_name=f"{base.name}-verify")
    best = with_targets(base, dim, best_weights, name="BEST", **draw)
    base_c = with_targets(base, dim, fitted[0]["weights"], name="BASE", **draw)
    build_candidate_shards(config, beam_argv, [best, base_c], False, use_annotations)
    root = layout.ablation_dir(config["run"]["output"])
    seeds = ab["verify_seeds"]
    b = train_candidate(root, "BEST", targets, ab, seeds)
    a = train_candidate(root, "BASE", targets, ab, seeds)
    paired = [x - y for x, y in zip(a["objective_per_seed"], b["objective_per_seed"], strict=True)]
    gain = a["objective"] - b["objective"]
    variances = [
        float(np.var(r["objective_per_seed"], ddof=1)) for r in fitted if len(r.get("objective_per_seed", [])) >= 2
    ]
    sigma = math.sqrt(sum(variances) / len(variances)) if variances else math.nan
    stderr = sigma * math.sqrt(2 / len(seeds))
    return {
        "verify_seeds": list(seeds),
        "objective": b["objective"],
        "objective_per_seed": b["objective_per_seed"],
        "losses": b["losses"],
        "base_objective": a["objective"],
        "base_objective_per_seed": a["objective_per_seed"],
        "gain": gain,
        "paired_gains": paired,
        "seed_sigma": sigma,
        "gain_stderr": stderr,
        "beats_base": gain > 0,
        "significant": bool(gain > 2 * stderr and min(paired) > 0),
    }


def ablation_section(summary: Mapping[str, Any]) -> str:
    """Table + plots of an ablation result (also embedded in the run report when present)."""
    keys = sorted(summary["predicted_best"]["weights"])
    targets = summary["targets"]
    rows = []
    for r in summary["candidates"]:
        obj = "—" if r["objective"] is None else f"{r['objective']:.4f}"
        loo = r.get("loo_prediction")
        rows.append(
            [
                r["name"],
                *(f"{r['weights'][k]:.3f}" for k in keys),
                f"{r['tokens']:,}",
                obj,
                "—" if loo is None else f"{loo:.4f}",
                *(f"{r['losses'][t]:.3f}" if r.get("losses") else "—" for t in targets),
            ]
        )
    best = summary["predicted_best"]
    head = [
        f"<p>Base recipe {html.escape(summary['base'])}, re-weighting <b>{html.escape(summary['dimension'])}</b>; "
        f"proxy {html.escape(json.dumps(summary['proxy']))} on {html.escape(summary['device'])}, seeds "
        f"{summary['seeds']}. Objective: mean bits per byte over the held-out target sets.</p>",
        _table(rows, ["candidate", *keys, "tokens", "objective", "LOO prediction", *targets]),
        "<h3>Predicted best</h3>",
        _table([[k, f"{best['weights'][k]:.3f}"] for k in keys], ["group", "weight"]),
        f"<p>predicted objective {best['predicted_objective']:.4f}",
    ]
    if "objective" in best:
        verdict = "beats" if best["beats_base"] else "does not beat"
        head[-1] += (
            f"; trained for real with fresh seeds {best.get('verify_seeds', '')}: {best['objective']:.4f}, base "
            f"{best['base_objective']:.4f} — the predicted best <b>{verdict}</b> the base"
        )
        if "gain_stderr" in best:
            head[-1] += (
                f" (gain {best['gain']:+.4f} ± {best['gain_stderr']:.4f} standard error: "
                f"{'significant' if best['significant'] else 'not significant'})"
            )
    reg = summary["regression"]
    if reg.get("loo_spearman") is not None:
        head[-1] += (
            f"; regression {html.escape(str(reg.get('features')))} (ridge λ {reg.get('lam')}) chosen by "
            f"leave-one-out error, LOO Spearman {reg['loo_spearman']:.3f}"
        )
    if "rank_stability_spearman" in summary:
        head[-1] += f"; rank stability across seeds (Spearman) {summary['rank_stability_spearman']:.3f}"
    head[-1] += "</p>"
    fitted = [r for r in summary["candidates"] if r.get("loo_prediction") is not None]
    plots = [
        bar_chart(
            [(r["name"], r["objective"]) for r in summary["candidates"] if r["objective"] is not None],
            "objective per candidate (bits per byte, lower is better)",
            fmt="{:.4f}",
        ),
        scatter_plot(
            [(r["loo_prediction"], r["objective"], r["name"]) for r in fitted],
            "leave-one-out prediction vs measured objective",
            "predicted",
            "measured",
        ),
        bar_chart(
            [(f"best {k}", best["weights"][k]) for k in keys]
            + [(f"base {k}", summary["candidates"][0]["weights"][k]) for k in keys],
            "group weights: predicted best vs base",
            fmt="{:.3f}",
        ),
    ]
    return "\n".join(head + plots)


def render_ablation_report(summary: Mapping[str, Any]) -> str:
    body = "<h1>Mixture ablation</h1>\n" + ablation_section(summary)
    head = f'<meta charset="utf-8"><title>Mixture ablation</title><style>{STYLE}</style>'
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"

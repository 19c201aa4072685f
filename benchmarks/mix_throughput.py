"""Mixing throughput, shard-writing throughput and determinism of ``pipelines.mix`` (issue 8).

    python benchmarks/mix_throughput.py [--megabytes 10] [--workers 2] [--keep DIR]

On one corpus (benchmarks/mix_corpus.py: real multilingual documents, labels by source), in one run:

* limit: reading the input documents back with pyarrow (docs/s), the floor any mix job pays;
* tokenising: every document through the Qwen tokenizer once (tiktoken batch), the floor of any step that cuts
  long documents into sequence-length pieces;
* core: the pure mixing cores in one process (plans from the profiles, then ``instance_rows`` for S1/S2/S3), docs/s;
* Beam: the whole ``python -m pipelines.mix`` job on one worker (docs/s per core) and on ``--workers`` processes;
* shard writing: our writer (validation, composition, size split, zstd Parquet) on the S1 rows vs a plain
  ``pyarrow.parquet.write_table`` of the same rows with the same compression (MB/s of text);
* determinism: the stage manifests of the two Beam runs (1 in-memory worker vs N processes, same seed) compared
  byte for byte, and a third run with another seed (must differ).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.mix_corpus import build_docs, write_run
from curation.mixture import instance_rows, profile_item, profile_merge
from curation.tokens import QwenTokenCounter
from pipelines import mix
from pipelines.config import load_config
from pipelines.mixing import ShardSpec, _WriteShardFn, make_plans
from schemas import SHARD_ROW

STAGES = ("S1", "S2", "S3")


def manifests_digest(out: Path) -> dict[str, str]:
    return {s: hashlib.sha256((out / "shards" / s / "manifest.json").read_bytes()).hexdigest()[:16] for s in STAGES}


def run_beam(out: Path, argv: list[str]) -> float:
    t0 = time.perf_counter()
    mix.run(["--output", str(out), *argv])
    return time.perf_counter() - t0


def core_rate(docs: list[dict]) -> tuple[float, int]:
    recipes = mix.mix_recipes(load_config())
    counter = QwenTokenCounter()
    counter.count("warm up")
    t0 = time.perf_counter()
    profiles: dict[str, dict] = {}
    for doc in docs:
        for r in recipes:
            item = profile_item(doc, r)
            if item:
                profile_merge(profiles.setdefault(r.name, {}).setdefault(item[0], {}), item[1])
    plans = make_plans(profiles, recipes, ShardSpec())
    n_rows = sum(len(instance_rows(doc, r, plans[r.name], counter)) for doc in docs for r in recipes)
    return len(docs) / (time.perf_counter() - t0), n_rows


def write_rates(out: Path, tmp: Path) -> tuple[float, float, float]:
    """(ours MB/s, plain pyarrow MB/s, text MB) writing the S1 rows."""
    rows = [r for f in sorted((out / "shards" / "S1").glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]
    for i, r in enumerate(rows):
        r["shuffle_key"] = i
    mb = sum(len(r["text"].encode()) for r in rows) / 1e6
    spec = ShardSpec()
    writer = _WriteShardFn(str(tmp / "ours"), spec)
    writer.setup()
    t0 = time.perf_counter()
    list(writer.process((("S1", 0), rows)))
    ours = time.perf_counter() - t0
    plain_rows = [{k: r[k] for k in SHARD_ROW.names} for r in rows]
    t0 = time.perf_counter()
    pq.write_table(pa.Table.from_pylist(plain_rows, schema=SHARD_ROW), tmp / "plain.parquet", compression="zstd")
    plain = time.perf_counter() - t0
    return mb / ours, mb / plain, mb


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", default=None, help="keep the run directories here")
    args = parser.parse_args(argv)
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="mix-bench-"))
    docs = build_docs(args.megabytes)
    mbytes = sum(len(d["text"].encode()) for d in docs) / 1e6
    one, many, other = tmp / "one", tmp / "many", tmp / "seed1"
    for out in (one, many, other):
        write_run(out, docs)
    print(f"corpus: {len(docs):,} documents, {mbytes:.1f} MB, {sum(d['n_tokens'] for d in docs):,} Qwen tokens")

    t0 = time.perf_counter()
    n_read = sum(pq.read_table(f).num_rows for f in sorted((one / "curated").glob("documents-*.parquet")))
    read_rate = n_read / (time.perf_counter() - t0)
    counter = QwenTokenCounter()
    counter.count("warm up")
    t0 = time.perf_counter()
    n_tok = sum(counter.count_batch([d["text"] for d in docs]))
    tok_rate = len(docs) / (time.perf_counter() - t0)
    core, n_rows = core_rate(docs)
    local = ["--direct_num_workers=1", "--direct_running_mode=in_memory"]
    t_one = run_beam(one, local)
    t_many = run_beam(many, [f"--direct_num_workers={args.workers}", "--direct_running_mode=multi_processing"])
    run_beam(other, [*local, "--set", "mix.seed=1"])
    ours, plain, text_mb = write_rates(one, tmp)
    d_one, d_many, d_other = manifests_digest(one), manifests_digest(many), manifests_digest(other)

    n = len(docs)
    rows = [
        ("read input documents (pyarrow), the limit", f"{read_rate:,.0f} docs/s", "1.00"),
        ("Qwen-tokenise every document once (batch)", f"{tok_rate:,.0f} docs/s", f"{tok_rate / read_rate:.3f}"),
        ("mixing cores, one process (plans + rows)", f"{core:,.0f} docs/s", f"{core / read_rate:.3f}"),
        ("pipelines.mix, 1 worker (per core)", f"{n / t_one:,.0f} docs/s", f"{n / t_one / read_rate:.3f}"),
        (f"pipelines.mix, {args.workers} processes", f"{n / t_many:,.0f} docs/s", f"{n / t_many / read_rate:.3f}"),
        ("shard writing: plain pyarrow zstd, the limit", f"{plain:,.1f} MB/s", "1.00"),
        ("shard writing: ours (validate+split+zstd)", f"{ours:,.1f} MB/s", f"{ours / plain:.3f}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'measurement':<{width}} | {'rate':>14} | ratio to limit")
    for name, rate, ratio in rows:
        print(f"{name:<{width}} | {rate:>14} | {ratio}")
    print(f"\nmixing cores / tokenising once: {core / tok_rate:.3f} (n_tokens comes from curation; only documents cut")
    print("into sequence-length pieces are tokenised again)")
    print(f"{n_tok:,} tokens; {n_rows:,} stage rows from the cores; S1 text written: {text_mb:.1f} MB")
    print(f"Beam wall: 1 worker {t_one:.1f} s, {args.workers} processes {t_many:.1f} s")
    print("\ndeterminism (sha256 of shards/<stage>/manifest.json):")
    for s in STAGES:
        print(f"  {s}: 1 worker {d_one[s]}  {args.workers} processes {d_many[s]}  seed 1 {d_other[s]}")
    print(f"same seed, different runner setup => byte-identical manifests: {d_one == d_many}")
    print(f"other seed => different manifests: {all(d_one[s] != d_other[s] for s in STAGES)}")


if __name__ == "__main__":
    main()

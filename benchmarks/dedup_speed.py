"""Near-dedup speed and memory against datatrove's MinHash pipeline and text-dedup, on the same input, same run.

Input: the real corpora of benchmarks/dedup_corpus.py (Debian copyright notices, SPDX licences, Go and Perl sources)
cut at line boundaries into ~2 KB documents (the issue's unit), the first ``--docs`` of them in a seeded order,
written once as Document Parquet (ours) and JSON lines (peers).

Every measurement runs in its own subprocess (a small wrapper runs the job and reports
``resource.getrusage(RUSAGE_CHILDREN)``): CPU seconds (user + sys, all processes of the job) give docs per CPU-second,
i.e. per core; ``ru_maxrss`` gives the peak RSS of the largest process of the job. Jobs:

* signatures, pure cores in one process: ours (``ShingleHasher`` + ``MinHashSigner`` + band keys, batches of 256),
  datatrove 0.10.1 ``MinhashDedupSignature.get_shingles`` + ``get_signature`` (its defaults: 5-gram words, 14x8,
  xxhash 64-bit, its word tokenizer), text-dedup 0.4.0 ``embed_func`` (its CLI defaults: sha1, 64-bit, regex
  non-alphanumeric split; 112 permutations, 14x8, 5-grams as ours);
* signature stage: datatrove's ``ParquetReader -> MinhashDedupSignature`` (writes and sorts its bucket files); ours
  as a Beam job (Parquet -> batches -> signatures -> band keys, FnApiRunner, one worker);
* end to end (signatures -> clusters -> filtered output on disk): ours = ``python -m pipelines.dedup run`` (Beam,
  FnApiRunner, one in-process worker; the default config: exact + near + true-Jaccard verification, and also near
  only without verification, the same work as datatrove's); datatrove = signature, buckets (14 tasks), cluster,
  filter + ParquetWriter with ``LocalPipelineExecutor(workers=1)`` (it reads the same Parquet file); text-dedup =
  ``python -m text_dedup.minhash`` (``--num_proc 1``, reading the same documents as JSON lines).

text-dedup is run from its own virtualenv (``--text-dedup-python``, default /tmp/venv-textdedup/bin/python): it pins
urllib3<=2.0 and rich<14 and would downgrade those in the project env (see benchmarks/README.md).

``--scaling`` also runs our end-to-end job with ``--direct_running_mode=multi_processing`` and 1 and 2 workers
(wall time), and prints the numbers the Dataflow extrapolation in benchmarks/README.md uses: CPU-s per doc, shuffle
bytes per doc per grouping (pickled sizes of the real elements), connected-components rounds.

    python benchmarks/dedup_speed.py [--docs 10000] [--scaling] [--no-text-dedup] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve()
TEXT_DEDUP_PYTHON = "/tmp/venv-textdedup/bin/python"
BATCH = 256


# ----------------------------------------------------------------------------------------------------------------
# Input


SMALL = 200  # documents of the fixed-cost runs


def prepare(workdir: Path, n_docs: int) -> tuple[Path, Path, int, float]:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import pyarrow.parquet as pq
    from dedup_corpus import chunked, quality_corpus

    from schemas import DOCUMENT, to_table

    docs, notes = quality_corpus(go_sample=100_000)
    for note in notes:
        print("note:", note)
    chunks = chunked(docs)
    random.Random(0).shuffle(chunks)
    chunks = chunks[:n_docs]
    for folder, part in ((workdir, chunks), (workdir / "small", chunks[:SMALL])):
        (folder / "parquet").mkdir(parents=True, exist_ok=True)
        pq.write_table(to_table(part, DOCUMENT), folder / "parquet" / "docs.parquet")
        (folder / "jsonl").mkdir(exist_ok=True)
        with open(folder / "jsonl" / "docs.jsonl", "w", encoding="utf-8") as f:
            for d in part:
                f.write(json.dumps({"id": d["id"], "text": d["text"]}) + "\n")
    return (
        workdir / "parquet" / "docs.parquet",
        workdir / "jsonl",
        len(chunks),
        sum(d["n_chars"] for d in chunks) / len(chunks),
    )


def load_texts(jsonl_dir: Path) -> list[str]:
    with open(jsonl_dir / "docs.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


# ----------------------------------------------------------------------------------------------------------------
# Jobs (each runs in its own process; prints one JSON line with what it measured inside)


def job_ours_core(args) -> dict:
    sys.path.insert(0, str(ROOT))
    from curation.dedup.minhash import MinHashParams, MinHashSigner, band_keys
    from curation.dedup.shingle_hash import ShingleHasher

    texts = load_texts(Path(args.jsonl))
    hasher, signer, params = ShingleHasher(), MinHashSigner(MinHashParams()), MinHashParams()
    hasher.hash_batch(["warm up the translation table"], ["Latn"])
    t0 = time.process_time()
    for i in range(0, len(texts), BATCH):
        batch = texts[i : i + BATCH]
        signatures = signer.sign(hasher.hash_batch(batch, ["Latn"] * len(batch)))
        for signature in signatures:
            band_keys(signature, params)
    return {"phase_cpu": time.process_time() - t0, "docs": len(texts)}


def job_datatrove_core(args) -> dict:
    from datatrove.pipeline.dedup.minhash import MinhashDedupSignature

    texts = load_texts(Path(args.jsonl))
    step = MinhashDedupSignature(tempfile.mkdtemp())
    step.get_shingles("warm up the word tokenizer of datatrove here")
    t0 = time.process_time()
    for text in texts:
        shingles = step.get_shingles(text)
        if shingles.size:
            step.get_signature(shingles)
    return {"phase_cpu": time.process_time() - t0, "docs": len(texts)}


def job_textdedup_core(args) -> dict:
    import numpy as np
    from text_dedup.minhash import embed_func
    from text_dedup.utils import sha1_hash

    texts = load_texts(Path(args.jsonl))
    num_perm, bands, rows = 112, 14, 8
    dtype, max_hash, prime = np.uint64, np.uint32((1 << 32) - 1), np.uint64((1 << 61) - 1)
    rng = np.random.RandomState(42)
    perms = (rng.randint(1, prime, size=(num_perm,), dtype=dtype), rng.randint(0, prime, size=(num_perm,), dtype=dtype))
    kwargs = {
        "num_perm": num_perm,
        "ngram_size": 5,
        "min_length": 0,
        "hashranges": [(i * rows, (i + 1) * rows) for i in range(bands)],
        "permutations": perms,
        "hash_func": lambda b: sha1_hash(b, d=32),
        "dtype": dtype,
        "max_hash": max_hash,
        "modulo_prime": prime,
    }
    t0 = time.process_time()
    for i, text in enumerate(texts):
        embed_func(text, i, **kwargs)
    return {"phase_cpu": time.process_time() - t0, "docs": len(texts)}


def job_ours_beam_sign(args) -> dict:
    sys.path.insert(0, str(ROOT))
    import apache_beam as beam

    from pipelines.dedup import DedupSettings, _SignBatch
    from pipelines.io import ReadRecords
    from pipelines.options import beam_options
    from schemas import DOCUMENT

    settings = DedupSettings(verify_jaccard=None, write_index=False)
    options = beam_options(["--runner=FnApiRunner", "--direct_running_mode=in_memory", "--direct_num_workers=1"])
    with beam.Pipeline(options=options) as p:
        (
            p
            | ReadRecords(args.parquet, DOCUMENT)
            | beam.BatchElements(min_batch_size=1, max_batch_size=settings.batch_size)
            | beam.ParDo(_SignBatch(settings))
            | beam.combiners.Count.Globally()
            | beam.io.WriteToText(str(Path(args.out) / "bands"), shard_name_template="")
        )
    return {"band_keys": int((Path(args.out) / "bands").read_text())}


def job_ours_e2e(args) -> dict:
    sys.path.insert(0, str(ROOT))
    import apache_beam as beam

    from pipelines.config import load_config
    from pipelines.dedup import build_dedup
    from pipelines.metrics import NAMESPACE
    from pipelines.options import beam_options

    overrides = [f"run.output={args.out}", *args.set]
    config = load_config(None, overrides)
    mode = ["--direct_running_mode=multi_processing"] if args.workers else ["--direct_running_mode=in_memory"]
    options = beam_options(["--runner=FnApiRunner", *mode, f"--direct_num_workers={args.workers or 1}"])
    t0 = time.perf_counter()
    pipeline = beam.Pipeline(options=options)
    build_dedup(pipeline, config, [args.parquet])
    result = pipeline.run()
    result.wait_until_finish()
    counters = {}
    for c in result.metrics().query()["counters"]:
        if c.key.metric.namespace == NAMESPACE:
            counters[c.key.metric.name] = counters.get(c.key.metric.name, 0) + int(c.committed or c.attempted or 0)
    return {"wall_pipeline": time.perf_counter() - t0, "counters": counters}


def job_datatrove_sig(args) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import MinhashDedupSignature
    from datatrove.pipeline.readers import ParquetReader

    out = Path(args.out)
    LocalPipelineExecutor(
        [ParquetReader(str(Path(args.parquet).parent), read_metadata=False), MinhashDedupSignature(str(out / "sigs"))],
        tasks=1,
        workers=1,
        logging_dir=str(out / "logs-sig"),
    ).run()
    return {}


def job_datatrove_e2e(args) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import ParquetWriter

    out = Path(args.out)
    folder = str(Path(args.parquet).parent)
    config = MinhashConfig()  # 5-grams, 14 buckets x 8 hashes, xxhash 64-bit
    steps = [
        ([ParquetReader(folder, read_metadata=False), MinhashDedupSignature(str(out / "sigs"), config=config)], 1),
        ([MinhashDedupBuckets(str(out / "sigs"), str(out / "buckets"), config=config)], config.num_buckets),
        ([MinhashDedupCluster(str(out / "buckets"), str(out / "remove_ids"), config=config)], 1),
        (
            [
                ParquetReader(folder, read_metadata=False),
                MinhashDedupFilter(str(out / "remove_ids")),
                ParquetWriter(str(out / "deduped")),
            ],
            1,
        ),
    ]
    for i, (pipeline, tasks) in enumerate(steps):
        LocalPipelineExecutor(pipeline, tasks=tasks, workers=1, logging_dir=str(out / f"logs-{i}")).run()
    import pyarrow.parquet as pq

    return {"kept": sum(pq.read_metadata(f).num_rows for f in (out / "deduped").glob("*.parquet"))}


JOBS = {
    "ours-core": job_ours_core,
    "datatrove-core": job_datatrove_core,
    "textdedup-core": job_textdedup_core,
    "ours-beam-sign": job_ours_beam_sign,
    "ours-e2e": job_ours_e2e,
    "datatrove-sig": job_datatrove_sig,
    "datatrove-e2e": job_datatrove_e2e,
}


# ----------------------------------------------------------------------------------------------------------------
# Measuring


def measure(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd`` under a fresh wrapper process that reports getrusage(RUSAGE_CHILDREN) of exactly this job."""
    wrapper = [sys.executable, str(HERE), "_measure", "--", *cmd]
    proc = subprocess.run(wrapper, capture_output=True, text=True, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def _measure_main(cmd: list[str]) -> None:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    inner = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode:
        print(proc.stdout[-3000:], proc.stderr[-3000:])
        raise SystemExit(proc.returncode)
    print(
        json.dumps(
            {
                "cpu": usage.ru_utime + usage.ru_stime,
                "rss_mb": usage.ru_maxrss / 1024,
                "wall": wall,
                "inner": json.loads(inner[-1]) if inner else {},
            }
        )
    )


def job_cmd(name: str, args, python: str = sys.executable, small: bool = False, **extra) -> list[str]:
    """The job on the full input, or (``small``) on its first SMALL documents."""
    base = args.workdir / "small" if small else args.workdir
    cmd = [
        python,
        str(HERE),
        "_job",
        name,
        "--jsonl",
        str(base / "jsonl"),
        "--parquet",
        str(base / "parquet" / "docs.parquet"),
    ]
    cmd += ["--out", str(extra.pop("out", args.workdir / name))]
    for key, value in extra.items():
        if key == "set":
            for v in value:
                cmd += ["--set", v]
        else:
            cmd += [f"--{key}", str(value)]
    return cmd


def textdedup_e2e_cmd(args) -> list[str]:
    out = args.workdir / "textdedup-e2e"
    return [
        args.text_dedup_python,
        "-m",
        "text_dedup.minhash",
        "--path",
        "json",
        "--data_files",
        str(args.jsonl_dir / "docs.jsonl"),
        "--split",
        "train",
        "--cache_dir",
        str(out / "cache"),
        "--output",
        str(out / "deduped"),
        "--column",
        "text",
        "--num_perm",
        "112",
        "--b",
        "14",
        "--r",
        "8",
        "--ngram",
        "5",
        "--min_length",
        "0",
        "--num_proc",
        "1",
    ]


def shuffle_bytes_per_doc(parquet: Path, sample: int = 2000) -> dict[str, float]:
    """Pickled bytes per input document crossing each grouping of our pipeline (a stand-in for Beam's coders).

    Verification features cross the first grouping for every document and the second only for documents on a
    candidate edge (a fraction of them: see the candidate edge count); the signature joins the kept document
    for the index.
    """
    sys.path.insert(0, str(ROOT))
    import pyarrow.parquet as pq

    from curation.dedup.keeper import keeper_rank, node_name
    from curation.dedup.minhash import (
        MinHashParams,
        MinHashSigner,
        band_keys,
        shingle_set_to_bytes,
        signature_to_bytes,
    )
    from curation.dedup.shingle_hash import ShingleHasher

    docs = pq.read_table(parquet).to_pylist()[:sample]
    params = MinHashParams()
    hashed = ShingleHasher().hash_batch([d["text"] for d in docs], [d["script"] for d in docs])
    signatures = MinHashSigner(params).sign(hashed)
    size = dict.fromkeys(
        (
            "text (UTF-8)",
            "doc by hash (exact)",
            "band key + node",
            "features (verify)",
            "signature (index)",
            "doc by id",
        ),
        0,
    )
    for i, d in enumerate(docs):
        node = node_name(keeper_rank(d, "longest"), 1)
        doc_bytes = len(pickle.dumps((d["content_hash"], d)))
        signature = signature_to_bytes(signatures[i])
        shingle_set = shingle_set_to_bytes(hashed.hashes[hashed.offsets[i] : hashed.offsets[i + 1]])
        size["text (UTF-8)"] += len(d["text"].encode())
        size["doc by hash (exact)"] += doc_bytes
        size["doc by id"] += doc_bytes
        size["band key + node"] += sum(len(pickle.dumps((k, node))) for k in band_keys(signatures[i], params))
        size["features (verify)"] += len(pickle.dumps((node, ("features", (shingle_set, signature)))))
        size["signature (index)"] += len(pickle.dumps((d["id"], ("signature", (signature, shingle_set)))))
    return {k: v / len(docs) for k, v in size.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--scaling", action="store_true", help="also 1 vs 2 multi_processing workers")
    parser.add_argument("--no-text-dedup", action="store_true")
    parser.add_argument("--text-dedup-python", default=TEXT_DEDUP_PYTHON)
    args = parser.parse_args(argv)
    args.workdir_given = args.workdir is not None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dedup-speed-"))
    workdir.mkdir(parents=True, exist_ok=True)
    args.workdir = workdir
    args.parquet_path, args.jsonl_dir, n, avg = prepare(workdir, args.docs)
    print(f"input: {n} documents, {avg:.0f} chars on average, in {workdir}")
    has_text_dedup = not args.no_text_dedup and Path(args.text_dedup_python).exists()
    td_env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "PYTHONPATH": str(ROOT)}

    rows = []

    def add(peer: str, what: str, result: dict, cpu: float | None = None) -> None:
        cpu = result["cpu"] if cpu is None else cpu
        rows.append((peer, what, cpu, n / cpu, result["wall"], result["rss_mb"]))
        print(f"  {peer:28s} {what:42s} {cpu:8.2f} CPU-s {n / cpu:9.0f} docs/CPU-s  RSS {result['rss_mb']:.0f} MB")

    print("signatures (pure cores; CPU of the signing loop only):")
    r = measure(job_cmd("ours-core", args))
    add("ours", "core: hash + sign + band keys", r, r["inner"]["phase_cpu"])
    r = measure(job_cmd("datatrove-core", args))
    add("datatrove 0.10.1", "core: get_shingles + get_signature", r, r["inner"]["phase_cpu"])
    if has_text_dedup:
        r = measure(job_cmd("textdedup-core", args, python=args.text_dedup_python), env=td_env)
        add("text-dedup 0.4.0", "core: embed_func", r, r["inner"]["phase_cpu"])
    print("signature stage (whole process):")
    add("ours", "Beam: Parquet -> signatures -> band keys", measure(job_cmd("ours-beam-sign", args)))
    add("datatrove 0.10.1", "ParquetReader -> MinhashDedupSignature", measure(job_cmd("datatrove-sig", args)))
    print("end to end (whole process):")
    ours = measure(job_cmd("ours-e2e", args))
    add("ours", "Beam: exact + near + verify (default)", ours)
    near_only = measure(
        job_cmd(
            "ours-e2e",
            args,
            out=workdir / "ours-e2e-near",
            set=["dedup.exact=false", "dedup.verify_jaccard=null", "dedup.write_index=false"],
        )
    )
    add("ours", "Beam: near only, no verify (= datatrove)", near_only)
    datatrove = measure(job_cmd("datatrove-e2e", args))
    add("datatrove 0.10.1", "signature, buckets, cluster, filter", datatrove)
    if has_text_dedup:
        add("text-dedup 0.4.0", "text_dedup.minhash --num_proc 1", measure(textdedup_e2e_cmd(args), env=td_env))
    else:
        print("  text-dedup: skipped (no interpreter at --text-dedup-python)")

    print(f"end to end, marginal: (CPU on {n} docs - CPU of the same job on the first {SMALL}) per document:")
    for peer, what, full, job in (
        ("ours", "marginal: exact + near + verify", ours, "ours-e2e"),
        ("datatrove 0.10.1", "marginal: signature ... filter", datatrove, "datatrove-e2e"),
    ):
        small = measure(job_cmd(job, args, small=True, out=workdir / f"{job}-small"))
        fixed = small["cpu"] - SMALL * (full["cpu"] - small["cpu"]) / (n - SMALL)
        rows.append((peer, what, full["cpu"] - small["cpu"], (n - SMALL) / (full["cpu"] - small["cpu"]), 0.0, 0.0))
        print(f"  {peer:28s} {what:42s} {rows[-1][3]:9.0f} docs/CPU-s; fixed cost ~{fixed:.1f} CPU-s")

    by = {(p, w): rate for p, w, _, rate, _, _ in rows}
    dt_core = by[("datatrove 0.10.1", "core: get_shingles + get_signature")]
    dt_stage = by[("datatrove 0.10.1", "ParquetReader -> MinhashDedupSignature")]
    dt_e2e = by[("datatrove 0.10.1", "signature, buckets, cluster, filter")]
    print()
    print("| peer | what | CPU-s | docs / CPU-s | wall s | peak RSS MB | vs datatrove |")
    print("|---|---|---|---|---|---|---|")
    for peer, what, cpu, rate, wall, rss in rows:
        ref = dt_core if what.startswith("core") else dt_stage if "->" in what else dt_e2e
        if what.startswith("marginal"):
            ref = by[("datatrove 0.10.1", "marginal: signature ... filter")]
        wall_rss = f"{wall:.1f} | {rss:.0f}" if wall else "- | -"
        print(f"| {peer} | {what} | {cpu:.2f} | {rate:,.0f} | {wall_rss} | {rate / ref:.1f}x |")
    sig_ratio = by[("ours", "core: hash + sign + band keys")] / dt_core
    stage_ratio = by[("ours", "Beam: Parquet -> signatures -> band keys")] / dt_stage
    e2e_ratio = by[("ours", "Beam: exact + near + verify (default)")] / dt_e2e
    near_ratio = by[("ours", "Beam: near only, no verify (= datatrove)")] / dt_e2e
    marginal_ratio = (
        by[("ours", "marginal: exact + near + verify")] / by[("datatrove 0.10.1", "marginal: signature ... filter")]
    )
    print(
        f"\nsignatures per core: core {sig_ratio:.1f}x, stage {stage_ratio:.1f}x datatrove (target >= 5x); "
        f"end to end {e2e_ratio:.1f}x (near only {near_ratio:.1f}x, marginal {marginal_ratio:.1f}x) (target >= 3x)"
    )
    counters = ours["inner"]["counters"]
    rounds = sum(1 for k, v in counters.items() if k.startswith("dedup/cc_round_") and v)
    print(
        f"our default run: {counters.get('dedup/candidate_edges', 0)} candidate edges, "
        f"{counters.get('dedup/verified_edges', 0)} verified, {counters.get('dedup/exact_duplicates', 0)} exact + "
        f"{counters.get('dedup/near_duplicates', 0)} near duplicates, {rounds} star rounds rewrote edges"
    )
    if args.scaling:
        print("\nscaling (our end to end, FnApiRunner multi_processing, wall time):")
        walls = {}
        for workers in (1, 2):
            r = measure(job_cmd("ours-e2e", args, out=workdir / f"ours-e2e-w{workers}", workers=workers))
            walls[workers] = r["wall"]
            print(f"  {workers} worker(s): wall {r['wall']:.1f} s, CPU {r['cpu']:.1f} s, peak RSS {r['rss_mb']:.0f} MB")
        print(f"  speed-up 2 vs 1 workers: {walls[1] / walls[2]:.2f}x (this machine has {os.cpu_count()} cores)")
        print("  shuffle bytes per input document (pickled elements):")
        for key, value in shuffle_bytes_per_doc(args.parquet_path).items():
            print(f"    {key:24s} {value:8.0f}")
    if not args.workdir_given:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_measure":
        _measure_main(sys.argv[sys.argv.index("--") + 1 :])
    elif len(sys.argv) > 1 and sys.argv[1] == "_job":
        job_parser = argparse.ArgumentParser()
        job_parser.add_argument("name", choices=sorted(JOBS))
        job_parser.add_argument("--jsonl", required=True)
        job_parser.add_argument("--parquet", required=True)
        job_parser.add_argument("--out", required=True)
        job_parser.add_argument("--workers", type=int, default=0)
        job_parser.add_argument("--set", action="append", default=[])
        job_args = job_parser.parse_args(sys.argv[2:])
        Path(job_args.out).mkdir(parents=True, exist_ok=True)
        print(json.dumps(JOBS[job_args.name](job_args)))
    else:
        main()

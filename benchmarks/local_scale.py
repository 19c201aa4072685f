"""One machine, every core, growing corpora: ``pipelines.curate`` (default local runner: bounded batches of
``run.local_batch_mb``, the dedup index carried across) against datatrove's ``LocalPipelineExecutor`` with the same
filters and MinHash, on the same JSONL files, in the same run; then annotate (students on every document) and mix on
the largest size's output.

Corpus (real, distinct documents, 8 JSONL files per size): with ``--pool`` (default: the scale pool under
``~/.cache/curation-factory/corpora/scale``, built from Debian packages: LibreOffice help in many languages, manuals,
kernel and compiler sources; see its MANIFEST.json), the pool's shuffled documents in order up to the size asked;
else the dev corpora's prose (``multilingual_corpus.load_corpus``) and Go/Rust/Perl sources, repeated under new ids
past the distinct text available (the table shows the distinct MB in brackets).

Per size: wall, CPU-s, peak RSS of the process tree (all Beam SDK workers / datatrove workers summed), docs/s and
MB/s per core (CPU-s), for ours with 1 worker (sizes up to ``--one-worker-max``) and every core, and for datatrove
with every core (sizes up to ``--datatrove-max``; its filters as in filters_throughput.py: LanguageFilter lid.176,
GopherRepetition, GopherQuality, C4, FineWeb; then its four MinHash stages, 14x8 defaults).

    python benchmarks/local_scale.py --sizes 300,1000,3000 [--one-worker-max 300] [--datatrove-max 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from proc_tree import TreeUsage, run_measured  # noqa: E402

CODE_DIRS = ("golang-1.19-src", "rust-src", "perl-modules-5.36")
CODE_SUFFIXES = (".go", ".rs", ".pm", ".pl")
N_FILES = 8


def _code_docs(limit_bytes: int) -> list[dict]:
    from multilingual_corpus import DEV

    files = sorted(p for d in CODE_DIRS for p in (DEV / "x" / d).rglob("*") if p.suffix in CODE_SUFFIXES)
    random.Random(0).shuffle(files)
    docs, total = [], 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if not text.strip():
            continue
        docs.append({"id": f"code/{path.relative_to(DEV / 'x')}", "text": text})
        total += len(text.encode("utf-8"))
        if total >= limit_bytes:
            break
    return docs


POOL = Path.home() / ".cache" / "curation-factory" / "corpora" / "scale"


def _pool_lines(pool: Path):
    """The pool's lines: ``pool-*.jsonl`` in order (already shuffled), else per-package ``*.jsonl`` files mixed in
    proportion to their sizes (seeded), each read in order, so every prefix holds every package's share."""
    files = sorted(pool.glob("pool-*.jsonl"))
    if files:
        for path in files:
            with path.open("rb") as f:
                yield from f
        return
    files = sorted(pool.glob("*.jsonl"))
    handles = [path.open("rb") for path in files]
    left = [path.stat().st_size for path in files]
    rng = random.Random(0)
    while handles:
        i = rng.choices(range(len(handles)), weights=left)[0]
        line = handles[i].readline()
        if not line:
            handles[i].close()
            del handles[i], left[i]
            continue
        left[i] = max(left[i] - len(line), 1)
        yield line


def build_from_pool(megabytes: float, root: Path, pool: Path) -> dict:
    """``N_FILES`` JSONL files of the pool's first documents, about ``megabytes`` MB; all distinct."""
    want = int(megabytes * 1e6)
    root.mkdir(parents=True, exist_ok=True)
    outs = [(root / f"part-{i:02d}.jsonl").open("wb") for i in range(N_FILES)]
    written = n = 0
    for line in _pool_lines(pool):
        if written >= want:
            break
        record = json.loads(line)
        out = json.dumps({"id": record["id"], "text": record["text"]}).encode("utf-8") + b"\n"
        outs[n % N_FILES].write(out)
        written += len(out)
        n += 1
    for f in outs:
        f.close()
    return {"docs": n, "bytes": written, "distinct_bytes": written}


def build_corpus(megabytes: float, root: Path, pool: Path | None = None) -> dict:
    """``N_FILES`` JSONL files of about ``megabytes`` MB under ``root``; returns sizes and the distinct share."""
    if pool is not None and any(pool.glob("*.jsonl")):
        return build_from_pool(megabytes, root, pool)
    from multilingual_corpus import load_corpus

    want = int(megabytes * 1e6)
    prose = [{"id": d.id, "text": d.text} for d in load_corpus(None, sources=("debian-docs", "manpages"))]
    prose_bytes = sum(len(d["text"].encode("utf-8")) for d in prose)
    docs = prose + (_code_docs(want - prose_bytes) if want > prose_bytes else [])
    distinct = sum(len(d["text"].encode("utf-8")) for d in docs)
    root.mkdir(parents=True, exist_ok=True)
    outs = [(root / f"part-{i:02d}.jsonl").open("w", encoding="utf-8") for i in range(N_FILES)]
    written, n, copy = 0, 0, 0
    while written < want:
        for d in docs:
            if written >= want:
                break
            line = json.dumps({"id": d["id"] if copy == 0 else f"{d['id']}#copy{copy}", "text": d["text"]})
            outs[n % N_FILES].write(line + "\n")
            written += len(line.encode("utf-8")) + 1
            n += 1
        copy += 1
    for f in outs:
        f.close()
    return {"docs": n, "bytes": written, "distinct_bytes": min(distinct, written)}


def run_ours(corpus: Path, out: Path, workers: int) -> TreeUsage:
    shutil.rmtree(out, ignore_errors=True)
    config = out.parent / f"{out.name}.yaml"
    config.write_text(json.dumps({"sources": [{"name": "bench", "type": "jsonl", "paths": [f"{corpus}/*.jsonl"]}]}))
    cmd = [sys.executable, "-m", "pipelines.curate", "--config", str(config), "--output", str(out)]
    cmd += [f"--direct_num_workers={workers}", "--progress_s=60"]
    log = (out.parent / f"{out.name}.log").open("w")
    return run_measured(cmd, cwd=HERE.parent, stdout=log, stderr=log)


def run_downstream(stage: str, out: Path, *extra: str, tag: str = "") -> TreeUsage:
    """``pipelines.annotate`` (students on every document) or ``pipelines.mix`` on a curate output."""
    config = out.parent / f"{out.name}.yaml"
    cmd = [sys.executable, "-m", f"pipelines.{stage}", "--config", str(config), "--output", str(out), "--progress_s=60"]
    if stage == "annotate":
        cmd += ["--set", "annotate.mode=student", "--set", "annotate.modes={}"]
    cmd += list(extra)
    log = (out.parent / f"{out.name}-{stage}{tag}.log").open("w")
    return run_measured(cmd, cwd=HERE.parent, stdout=log, stderr=log)


def curated_docs(out: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in (out / "curated").glob("documents-*.parquet"))


def datatrove_job(corpus: str, work: str, workers: int) -> None:
    """datatrove's filters then its MinHash stages (run in a child process, measured by ``run_measured``)."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from filters_throughput import datatrove_language_filter

    lid = datatrove_language_filter()
    w = Path(work)
    tasks = N_FILES

    def run(pipeline, n_tasks=tasks, logs="logs"):
        LocalPipelineExecutor(pipeline, tasks=n_tasks, workers=workers, logging_dir=str(w / logs)).run()

    run(
        [
            JsonlReader(corpus, glob_pattern="*.jsonl"),
            lid,
            GopherRepetitionFilter(),
            GopherQualityFilter(),
            C4QualityFilter(),
            FineWebQualityFilter(),
            JsonlWriter(str(w / "filtered")),
        ],
        logs="logs-filter",
    )
    run([JsonlReader(str(w / "filtered")), MinhashDedupSignature(output_folder=str(w / "sigs"))], logs="logs-sig")
    run([MinhashDedupBuckets(input_folder=str(w / "sigs"), output_folder=str(w / "buckets"))], 14, "logs-buckets")
    run([MinhashDedupCluster(input_folder=str(w / "buckets"), output_folder=str(w / "remove"))], 1, "logs-cluster")
    run(
        [
            JsonlReader(str(w / "filtered")),
            MinhashDedupFilter(input_folder=str(w / "remove")),
            JsonlWriter(str(w / "deduped")),
        ],
        logs="logs-dedup",
    )


def run_datatrove(corpus: Path, work: Path, workers: int) -> TreeUsage:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cmd = [sys.executable, __file__, "--datatrove-job", str(corpus), str(work), str(workers)]
    log = (work.parent / f"{work.name}.log").open("w")
    return run_measured(cmd, cwd=HERE.parent, stdout=log, stderr=log)


def row(name: str, size: dict, u: TreeUsage, base: TreeUsage | None = None, docs: int | None = None) -> str:
    mb = size["bytes"] / 1e6
    n = size["docs"] if docs is None else docs
    per_core = mb / u.cpu_s if u.cpu_s else 0.0
    docs_core = n / u.cpu_s if u.cpu_s else 0.0
    vs = f"{base.wall_s / u.wall_s:.2f}x" if base else "-"
    return (
        f"| {mb:,.0f} ({size['distinct_bytes'] / 1e6:,.0f}) | {name} | {u.wall_s:,.1f} | {u.cpu_s:,.1f} | "
        f"{u.cores:.2f} | {u.peak_rss_mb:,.0f} | {n / u.wall_s:,.0f} | {docs_core:,.0f} | {per_core:.2f} | {vs} | "
        f"{'ok' if u.returncode == 0 else f'rc={u.returncode}'} |"
    )


def main() -> None:
    if "--datatrove-job" in sys.argv:
        i = sys.argv.index("--datatrove-job")
        datatrove_job(sys.argv[i + 1], sys.argv[i + 2], int(sys.argv[i + 3]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="300,1000,3000", help="corpus sizes in MB, comma-separated")
    parser.add_argument("--workdir", default="/tmp/local-scale")
    parser.add_argument("--pool", default=str(POOL), help="scale pool directory (pool-*.jsonl); else the dev corpora")
    parser.add_argument("--one-worker-max", type=float, default=300, help="run ours on 1 worker up to this size (MB)")
    parser.add_argument("--datatrove-max", type=float, default=1000, help="run datatrove up to this size (MB)")
    parser.add_argument("--no-downstream", action="store_true", help="skip annotate + mix on the largest output")
    parser.add_argument(
        "--mix-slice-mb", type=float, default=0, help="run.local_batch_mb for the sliced mix (default: the config's)"
    )
    args = parser.parse_args()
    work = Path(args.workdir)
    cores = os.cpu_count() or 1
    lines = [
        "| MB (distinct) | run | wall s | CPU s | cores busy | peak RSS MB | docs/s | docs/s per core | MB/s per core "
        "| speed-up vs ours 1 worker | status |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    sizes = [float(s) for s in args.sizes.split(",")]
    pool = Path(args.pool)
    for mb in sizes:
        corpus = work / f"corpus-{mb:g}"
        size = build_corpus(mb, corpus, pool)
        one = None
        if mb <= args.one_worker_max:
            one = run_ours(corpus, work / f"ours-{mb:g}-w1", 1)
            lines.append(row("ours, 1 worker", size, one))
            shutil.rmtree(work / f"ours-{mb:g}-w1", ignore_errors=True)
        out = work / f"ours-{mb:g}-w{cores}"
        many = run_ours(corpus, out, cores)
        lines.append(row(f"ours, {cores} workers", size, many, one))
        if mb <= args.datatrove_max:
            peer = run_datatrove(corpus, work / f"datatrove-{mb:g}", cores)
            lines.append(row(f"datatrove, {cores} workers", size, peer, one))
            lines.append(
                f"|  | ours / datatrove ({cores} workers) | wall {peer.wall_s / many.wall_s:.2f}x | "
                f"CPU {peer.cpu_s / many.cpu_s:.2f}x |  | RSS {many.peak_rss_mb / peak_rss(peer):.2f}x |  |  |  |  |  |"
            )
            shutil.rmtree(work / f"datatrove-{mb:g}", ignore_errors=True)
        if mb == sizes[-1] and not args.no_downstream and many.returncode == 0:
            kept = curated_docs(out)
            annotate = run_downstream("annotate", out)
            lines.append(row(f"annotate ({kept:,} curated docs)", size, annotate, docs=kept))
            slice_mb = ["--set", f"run.local_batch_mb={args.mix_slice_mb:g}"] if args.mix_slice_mb else []
            sliced = run_downstream("mix", out, *slice_mb)  # local slices where the curated text needs them
            label = f"run.local_batch_mb={args.mix_slice_mb:g}" if args.mix_slice_mb else "default"
            lines.append(row(f"mix, local slices, {label} ({kept:,} curated docs)", size, sliced, docs=kept))
            one_job = run_downstream("mix", out, "--force", "--set", "run.local_batch_mb=0", tag="-one-job")
            lines.append(row("mix, one job (run.local_batch_mb=0)", size, one_job, docs=kept))
            lines.append(
                f"|  | mix slices / one job | wall {sliced.wall_s / one_job.wall_s:.2f}x | "
                f"CPU {sliced.cpu_s / one_job.cpu_s:.2f}x |  | RSS {sliced.peak_rss_mb / peak_rss(one_job):.2f}x "
                "|  |  |  |  |  |"
            )
        else:
            shutil.rmtree(out, ignore_errors=True)
        print("\n".join(lines), flush=True)
        shutil.rmtree(corpus, ignore_errors=True)


def peak_rss(u: TreeUsage) -> float:
    return u.peak_rss_mb or 1.0


if __name__ == "__main__":
    main()

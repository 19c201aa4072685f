"""One machine, every core, growing corpora: ``pipelines.curate`` (default local runner) against datatrove's
``LocalPipelineExecutor`` with the same filters and MinHash, on the same JSONL files, in the same run.

Corpus (real, distinct documents, 8 JSONL files per size): the dev corpora's prose (Debian manuals cut into ~8 KB
documents, man pages in 25 languages: ``multilingual_corpus.load_corpus``) then real source files (Go, Rust, Perl
from ``corpora/dev/x``, one document per file), in a fixed seeded order, up to the size asked. When a size is larger
than the distinct text available the table says so (``distinct MB``) and documents repeat with new ids: the repeats
are exact duplicates for both tools.

Per size: wall, CPU-s, peak RSS of the process tree (all Beam SDK workers / datatrove workers summed), MB/s per core
(CPU-s), for ours with 1 and 2 workers and for datatrove with 2 workers (its filters as in filters_throughput.py:
LanguageFilter lid.176, GopherRepetition, GopherQuality, C4, FineWeb; then its four MinHash stages, 14x8 defaults).

    python benchmarks/local_scale.py --sizes 50,300 [--no-datatrove] [--workdir /tmp/local-scale]
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


def build_corpus(megabytes: float, root: Path) -> dict:
    """``N_FILES`` JSONL files of about ``megabytes`` MB under ``root``; returns sizes and the distinct share."""
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
    cmd += [f"--direct_num_workers={workers}", "--progress_s=0"]
    log = (out.parent / f"{out.name}.log").open("w")
    return run_measured(cmd, cwd=HERE.parent, stdout=log, stderr=log)


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


def row(name: str, size: dict, u: TreeUsage, base: TreeUsage | None = None) -> str:
    mb = size["bytes"] / 1e6
    per_core = mb / u.cpu_s if u.cpu_s else 0.0
    vs = f"{base.wall_s / u.wall_s:.2f}x" if base else "-"
    return (
        f"| {mb:,.0f} ({size['distinct_bytes'] / 1e6:,.0f}) | {name} | {u.wall_s:,.1f} | {u.cpu_s:,.1f} | "
        f"{u.cores:.2f} | {u.peak_rss_mb:,.0f} | {size['docs'] / u.wall_s:,.0f} | {per_core:.2f} | {vs} | "
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
    parser.add_argument("--no-datatrove", action="store_true")
    args = parser.parse_args()
    work = Path(args.workdir)
    cores = os.cpu_count() or 1
    lines = [
        "| MB (distinct) | run | wall s | CPU s | cores busy | peak RSS MB | docs/s | MB/s per core "
        "| speed-up vs ours 1 worker | status |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mb in [float(s) for s in args.sizes.split(",")]:
        corpus = work / f"corpus-{mb:g}"
        size = build_corpus(mb, corpus)
        one = run_ours(corpus, work / f"ours-{mb:g}-w1", 1)
        lines.append(row("ours, 1 worker", size, one))
        many = run_ours(corpus, work / f"ours-{mb:g}-w{cores}", cores)
        lines.append(row(f"ours, {cores} workers", size, many, one))
        if not args.no_datatrove:
            peer = run_datatrove(corpus, work / f"datatrove-{mb:g}", cores)
            lines.append(row(f"datatrove, {cores} workers", size, peer, one))
            lines.append(
                f"|  | ours / datatrove ({cores} workers) | wall {peer.wall_s / many.wall_s:.2f}x | "
                f"CPU {peer.cpu_s / many.cpu_s:.2f}x |  | RSS {many.peak_rss_mb / peak_rss(peer):.2f}x |  |  |  |  |  |"
            )
        print("\n".join(lines), flush=True)
        shutil.rmtree(corpus, ignore_errors=True)


def peak_rss(u: TreeUsage) -> float:
    return u.peak_rss_mb or 1.0


if __name__ == "__main__":
    main()

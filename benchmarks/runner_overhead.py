"""The same curate job on several Beam runners: what the runner itself costs, in documents per second.

    python benchmarks/runner_overhead.py [--repeat 1] [--workers 2] [--runners fnapi-mp,portable-loopback,...]

Runners (all local, no network):
  fnapi-mp           FnApiRunner, multi_processing, --workers processes (the factory's embedded default)
  fnapi-inmem        FnApiRunner, in_memory: one process, no gRPC between runner and worker
  portable-loopback  PortableRunner with an embedded job server, workers in this process (what CI runs)
  bundle-direct      BundleBasedDirectRunner, Beam's older pure-Python direct runner (if it can run the graph)

Input: the bundled sample (10 PDFs + 219 JSONL lines); ``--repeat N`` copies the JSONL sources N times under new
ids (copies become exact duplicates: same work per document up to dedup). Wall time includes worker start-up, which
is the point: it is the fixed cost each runner adds per job. Prints a table and each runner's time relative to
fnapi-mp measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.config import load_config  # noqa: E402
from pipelines.curate import build_curate  # noqa: E402
from pipelines.manifest import read_counts, totals_of  # noqa: E402
from pipelines.options import setup_logging  # noqa: E402
from pipelines.run import run_pipeline  # noqa: E402

RUNNERS = {
    "fnapi-mp": lambda n: [
        "--runner=FnApiRunner",
        "--direct_running_mode=multi_processing",
        f"--direct_num_workers={n}",
    ],
    "fnapi-inmem": lambda n: ["--runner=FnApiRunner", "--direct_running_mode=in_memory"],
    "portable-loopback": lambda n: ["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"],
    "bundle-direct": lambda n: ["--runner=BundleBasedDirectRunner"],
}


def make_input(work: Path, repeat: int) -> list[str]:
    """The sample's JSONL (``repeat`` copies, ids suffixed) and its PDFs; returns --set overrides for the sources."""
    text = work / "text"
    text.mkdir(parents=True)
    for src in sorted((ROOT / "data" / "sample" / "text").glob("*.jsonl")):
        lines = src.read_bytes().splitlines()
        with open(text / src.name, "wb") as f:
            for copy in range(repeat):
                for line in lines:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        f.write(line + b"\n")  # the deliberately bad lines stay bad
                        continue
                    if isinstance(record, dict) and copy and "id" in record:
                        record["id"] = f"{record['id']}~{copy}"
                    f.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
    pdf = f"{ROOT}/data/sample/pdf/*.pdf"
    return [
        f"sources=[{{name: sample-pdf, type: pdf, paths: ['{pdf}']}}, "
        f"{{name: sample-text, type: jsonl, paths: ['{text}/*.jsonl'], text_field: text, id_field: id}}]"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runners", default=",".join(RUNNERS))
    args = parser.parse_args()
    setup_logging()
    work = Path(tempfile.mkdtemp(prefix="runner-overhead-"))
    try:
        overrides = make_input(work / "in", args.repeat)
        rows = []
        for name in args.runners.split(","):
            out = work / f"out-{name}"
            config = load_config(None, [*overrides, f"run.output={out}"])
            t0 = time.perf_counter()
            try:
                run_pipeline(build_curate, config, RUNNERS[name](args.workers), progress_s=0, name=name)
            except Exception as err:  # a runner that cannot run this graph is reported, not fatal
                rows.append((name, None, None, f"failed: {str(err).splitlines()[0][:80]}"))
                continue
            seconds = time.perf_counter() - t0
            totals = totals_of(read_counts(str(out), ["curate"]))
            status = (
                "balanced" if totals["input"] == totals["kept"] + totals["rejected"] + totals["duplicate"] else "NOT"
            )
            rows.append((name, seconds, totals["input"], status))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = next((s for n, s, _, _ in rows if n == "fnapi-mp" and s), None)
    print(f"\ncurate on the sample x{args.repeat}, {args.workers} workers where the runner has several")
    print("| runner | documents | wall s | docs/s | time vs fnapi-mp | outcome |\n|---|---|---|---|---|---|")
    for name, seconds, docs, status in rows:
        if seconds is None:
            print(f"| {name} | - | - | - | - | {status} |")
            continue
        ratio = f"{seconds / base:.2f} x" if base else "-"
        print(f"| {name} | {docs} | {seconds:.1f} | {docs / seconds:.1f} | {ratio} | {status} |")


if __name__ == "__main__":
    main()

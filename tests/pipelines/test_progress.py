"""The progress line of every CLI: documents/s, MB/s and an ETA against the job's workload, measured before the job
(file sizes for curate, Parquet footers for annotate), and the readers' stored-bytes counter adds up to the input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipelines import annotate as annotate_module
from pipelines import curate as curate_module
from pipelines.progress import summarize, throughput
from pipelines.workload import Workload

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
RUNNER = ["--direct_num_workers=1", "--direct_running_mode=in_memory"]


def test_rates_and_eta_follow_the_share_of_input_read():
    work = Workload("read/input:", stored_bytes=400_000_000)
    counters = {"read/input:a": 900, "read/input:b": 100, "read/stored_bytes": 100_000_000, "filter/x": 5}
    line = throughput(counters, work, elapsed=50.0)
    assert line == "1,000 docs (20/s), 100.0 of 400.0 MB read (2.00 MB/s), reading ETA 2 min 30 s"
    done = throughput({**counters, "read/stored_bytes": 400_000_000}, work, elapsed=200.0)
    assert "ETA" not in done  # nothing left to estimate
    docs = throughput({"annotate/documents": 250}, Workload("annotate/documents", docs_total=1000), 10.0)
    assert docs == "250 of 1,000 docs (25/s), ETA 30 s"
    assert throughput({}, Workload("mix/documents:read"), 0.0) == "0 docs (0/s)"


def _progress(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "pipelines.progress"]


def test_curate_and_annotate_print_rates_against_the_real_input(tmp_path, caplog):
    sources = [
        {"name": "text", "type": "jsonl", "paths": [str(SAMPLE / "text" / "*.jsonl")]},
        {"name": "pdf", "type": "pdf", "paths": [str(SAMPLE / "pdf" / "debian-faq-*.pdf")]},
    ]
    config = tmp_path / "c.yaml"
    config.write_text(json.dumps({"sources": sources, "annotate": {"mode": "student"}}))
    stored = sum(p.stat().st_size for p in SAMPLE.glob("text/*.jsonl")) + sum(
        p.stat().st_size for p in SAMPLE.glob("pdf/debian-faq-*.pdf")
    )
    out = tmp_path / "out"
    common = ["--config", str(config), "--output", str(out), "--progress_s", "0.2", *RUNNER]
    with caplog.at_level("INFO", logger="pipelines"):
        curate_module.run(common)
    (done,) = [m for m in _progress(caplog) if m.startswith("progress curate [done")]
    total_mb = f"{stored / 1e6:,.1f}"
    assert f"{total_mb} of {total_mb} MB read" in done, done  # every stored byte counted, none twice
    n_input = int(re.search(r"([\d,]+) docs \(", done).group(1).replace(",", ""))
    lines = sum(1 for p in SAMPLE.glob("text/*.jsonl") for line in p.read_bytes().splitlines() if line.strip())
    assert n_input == lines + len(list(SAMPLE.glob("pdf/debian-faq-*.pdf")))  # counted here, not by the pipeline

    caplog.clear()
    with caplog.at_level("INFO", logger="pipelines"):
        annotate_module.run(common)
    (done,) = [m for m in _progress(caplog) if m.startswith("progress annotate [done")]
    kept = re.search(r"([\d,]+) of ([\d,]+) docs", done)
    assert kept and kept.group(1) == kept.group(2), done  # the footers' row count is what the job took in


def test_ocr_pages_lead_the_progress_line():
    """Scanned PDFs spend minutes in OCR while no document is kept yet: the line shows the pages read so far."""
    counters = {f"normalize/fixed:rule{i}": 1000 + i for i in range(12)} | {"extract/ocr_pages": 7, "read/input": 40}
    line = summarize(counters)
    assert line.startswith("read/input=40, extract/ocr_pages=7, ")

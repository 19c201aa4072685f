"""Production operations on the real pipelines: the whole factory on Beam's portable runner (LOOPBACK) with every
input and output on a non-local Beam filesystem, resume from completion markers, and the stage bookkeeping.

The filesystem is ``testfs://`` (tests/pipelines/testfs.py, a FAKE object store: gs:// and s3:// cannot be reached
offline); everything else is real: the sample corpus, lid.176, the bundled students, Parquet.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines import stages
from pipelines.config import load_config
from pipelines.run import run_factory
from schemas import DOCUMENT, REJECTION, validate_table
from tests.pipelines import testfs

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PORTABLE = ["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"]
CONFIG = """
run: {output: "testfs://bucket/runs/r1"}
sources:
  - {name: sample-pdf, type: pdf, paths: ["testfs://bucket/sample/pdf/*.pdf"]}
  - {name: sample-text, type: jsonl, paths: ["testfs://bucket/sample/text/*.jsonl"], text_field: text, id_field: id}
annotate: {mode: student}
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("testfs")
    testfs.configure(root)
    shutil.copytree(ROOT / "data" / "sample" / "pdf", root / "bucket" / "sample" / "pdf")
    shutil.copytree(ROOT / "data" / "sample" / "text", root / "bucket" / "sample" / "text")
    (root / "bucket" / "cfg").mkdir()
    (root / "bucket" / "cfg" / "run.yaml").write_text(CONFIG)
    return root


@pytest.fixture(scope="module")
def first_run(store, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("cwd")
    mp = pytest.MonkeyPatch()
    mp.chdir(cwd)  # a path handled as local would land here (e.g. a directory named "testfs:")
    try:
        result = run_factory(["--config", "testfs://bucket/cfg/run.yaml", "--progress_s", "1", *PORTABLE])
    finally:
        mp.undo()
    return result, cwd


def test_portable_runner_runs_the_whole_factory_on_a_remote_filesystem(store, first_run):
    result, cwd = first_run
    assert list(cwd.iterdir()) == [], "something was written to a local path instead of the output URL"
    manifest = result.manifest
    totals = manifest["totals"]
    assert manifest["balanced"] and totals["kept"] > 0 and totals["rejected"] > 0 and totals["duplicate"] > 0
    assert totals["input"] == 230  # 11 PDFs + 219 JSONL lines (data/sample/EXPECTED.md)
    assert {n: o.status for n, o in result.stages.items()} == dict.fromkeys(("curate", "annotate", "mix"), "ran")
    out = store / "bucket" / "runs" / "r1"
    docs = pq.read_table(sorted((out / "curated").glob("documents-*.parquet"))[0])
    validate_table(docs, DOCUMENT)
    assert docs.num_rows == totals["kept"]
    assert all(o.startswith("testfs://bucket/runs/r1/") for o in manifest["outputs"].values())
    for task in ("edu", "domain", "safety"):
        assert pq.read_table(sorted((out / "annotations").glob(f"{task}-*.parquet"))[0]).num_rows == totals["kept"]
    assert list((out / "shards" / "S1").glob("part-*.parquet"))
    assert json.loads((out / "manifest.json").read_text())["run_id"] == manifest["run_id"]
    assert (out / "report.html").read_text().count('class="plot"') >= 8


def test_output_names_are_deterministic_and_no_temporary_files_remain(store, first_run):
    out = store / "bucket" / "runs" / "r1"
    names = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
    assert not [n for n in names if "beam-temp" in n or n.endswith(".inprogress")]
    # Beam sinks: name-SSSSS-of-NNNNN; mixture shards: part-<hash group>-<split>, both fixed by the data and seed
    shard = re.compile(r"-\d{5}-of-\d{5}\.parquet$|^shards/[^/]+/part-\d{5}-\d{3}\.parquet$")
    for name in names:
        if name.endswith(".parquet") and not name.startswith("annotations/cache/"):
            assert shard.search(name), name
    assert sorted(p.name for p in (out / "_markers").iterdir()) == ["annotate.json", "curate.json", "mix.json"]


def test_rerun_skips_complete_stages_and_does_no_new_work(store, first_run, caplog):
    first, _ = first_run
    out = store / "bucket" / "runs" / "r1"
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")}
    with caplog.at_level(logging.INFO, logger="pipelines"):
        again = run_factory(["--config", "testfs://bucket/cfg/run.yaml", *PORTABLE])
    assert {o.status for o in again.stages.values()} == {"skipped"}
    assert all(o.attempts == 0 for o in again.stages.values())
    assert not [r for r in caplog.records if r.name == "pipelines.progress"]  # no job ran
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.parquet")} == before  # nothing rewritten
    assert again.manifest["totals"] == first.manifest["totals"] and again.manifest["counts"] == first.manifest["counts"]


def test_rejections_on_the_remote_filesystem_carry_reasons(store, first_run):
    out = store / "bucket" / "runs" / "r1"
    table = pq.read_table(sorted((out / "curated").glob("rejections-*.parquet"))[0])
    validate_table(table, REJECTION)
    rows = table.to_pylist()
    assert all(r["stage"] and r["reason"] for r in rows)
    assert {r["reason"] for r in rows} >= {"pdf_corrupt", "pdf_encrypted", "invalid_json", "invalid_utf8"}


# ------------------------------------------------------------------------------------------ stage bookkeeping


def test_fingerprints_follow_config_inputs_and_upstream(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id": 1, "text": "x"}\n')
    cfg = {"sources": [{"name": "s", "type": "jsonl", "paths": [str(tmp_path / "*.jsonl")]}], "mix": {"seed": 0}}
    curate = stages.fingerprint(cfg, "curate")
    assert stages.fingerprint(cfg, "curate") == curate
    (tmp_path / "b.jsonl").write_text('{"id": 2, "text": "y"}\n')  # a new input file
    assert stages.fingerprint(cfg, "curate") != curate
    mix = stages.fingerprint(cfg, "mix", upstream="u1")
    assert stages.fingerprint(cfg, "mix", upstream="u2") != mix
    assert stages.fingerprint({**cfg, "mix": {"seed": 1}}, "mix", upstream="u1") != mix
    assert stages.fingerprint({**cfg, "dedup": {"keep": "first"}}, "mix", upstream="u1") == mix  # not mix's section


def test_a_marker_counts_only_while_its_outputs_are_intact(tmp_path):
    out = str(tmp_path)
    calls = []

    def job():
        calls.append(1)
        (tmp_path / "counts").mkdir(exist_ok=True)
        (tmp_path / "counts" / "mix.jsonl").write_text('{"n": 1}\n')
        (tmp_path / "shards" / "S1").mkdir(parents=True, exist_ok=True)
        (tmp_path / "shards" / "S1" / "part-00000-of-00001.parquet").write_bytes(b"x" * 10)
        return {"mix/instances": 1}

    first = stages.run_stage("mix", out, "fp1", job)
    assert first.status == "ran" and first.attempts == 1 and stages.is_complete(out, "mix", "fp1")
    assert stages.run_stage("mix", out, "fp1", job).status == "skipped" and len(calls) == 1
    assert stages.run_stage("mix", out, "fp2", job).status == "ran" and len(calls) == 2  # config changed
    (tmp_path / "shards" / "S1" / "part-00000-of-00001.parquet").unlink()  # an output went missing
    assert not stages.is_complete(out, "mix", "fp2")
    assert stages.run_stage("mix", out, "fp2", job).status == "ran" and len(calls) == 3
    assert stages.run_stage("mix", out, "fp2", job, force=True).status == "ran" and len(calls) == 4


def test_a_retry_starts_from_a_clean_slate(tmp_path):
    out = str(tmp_path)
    attempts = []

    def flaky():
        attempts.append(1)
        shards = tmp_path / "curated"
        shards.mkdir(exist_ok=True)
        if len(attempts) == 1:  # the first attempt wrote two shards, then died
            (shards / "documents-00000-of-00002.parquet").write_bytes(b"a")
            (shards / "documents-00001-of-00002.parquet").write_bytes(b"b")
            (shards / "beam-temp-documents-123").mkdir()
            (shards / "beam-temp-documents-123" / "part").write_bytes(b"c")
            raise RuntimeError("worker died")
        (shards / "documents-00000-of-00001.parquet").write_bytes(b"ab")
        return {}

    outcome = stages.run_stage("curate", out, "fp", flaky, retries=1, backoff_s=0)
    assert outcome.attempts == 2
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["_markers/curate.json", "curated/documents-00000-of-00001.parquet"]


def test_a_stage_failing_every_attempt_leaves_no_marker_and_no_outputs(tmp_path):
    def broken():
        (tmp_path / "curated").mkdir(exist_ok=True)
        (tmp_path / "curated" / "documents-00000-of-00001.parquet").write_bytes(b"partial")
        raise RuntimeError("bad")

    with pytest.raises(stages.StageFailed, match="curate: failed after 2 attempts"):
        stages.run_stage("curate", str(tmp_path), "fp", broken, retries=1, backoff_s=0)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_malformed_config_values_name_the_field(tmp_path):
    from pipelines.config import ConfigError

    cases = {
        "langid.batch_size=lots": "langid.batch_size: a positive integer",
        "extract.pdf_timeout_s=-1": "extract.pdf_timeout_s: a positive number",
        "normalize.max_junk_ratio=2": "normalize.max_junk_ratio: a number in",
        "annotate.tasks=edu": "annotate.tasks: a list",
        "sources=[{name: x, type: jsonl, paths: [1]}]": r"sources\[0\].paths",
        "mix=[1]": "mix: a mapping",
    }
    for override, message in cases.items():
        with pytest.raises(ConfigError, match=message):
            load_config(None, [override])
    bad = tmp_path / "bad.yaml"
    bad.write_text("run:\n  output: out\nlangid:\n  batch_size: [1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+, column \d+: invalid YAML"):
        load_config(str(bad))
    with pytest.raises(ConfigError, match="cannot read the config"):
        load_config(str(tmp_path / "missing.yaml"))


# ----------------------------------------------------------------------------------- the report in a browser

PROBE = """<pre id="probe"></pre><script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(String(e.message || e)));
window.addEventListener("load", () => {
  const plots = [...document.querySelectorAll("svg.plot")].map(svg => {
    const box = svg.getBoundingClientRect();
    const marks = [...svg.querySelectorAll("rect")].map(r => r.getBoundingClientRect())
      .filter(b => b.width > 0 && b.height > 0).length;
    return {name: svg.dataset.plot, width: box.width, height: box.height, marks: marks};
  });
  document.getElementById("probe").textContent = JSON.stringify({plots: plots, errors: window.__errors});
});
</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip("no headless Chromium on this machine (.ci/run installs Debian's chromium when root)")


def test_report_renders_its_plots_in_headless_chromium(store, first_run, tmp_path):
    import html
    import subprocess

    browser = _chromium()
    report = (store / "bucket" / "runs" / "r1" / "report.html").read_text()
    assert "<script" not in report  # the report itself runs no code; the probe below is the test's
    page = tmp_path / "report.html"
    page.write_text(report.replace("</body>", PROBE + "</body>"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"]
    flags += ["--window-size=1200,4000", "--virtual-time-budget=10000", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [browser, *flags, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert dom.returncode == 0, dom.stderr[-2000:]
    probe = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert probe and probe.group(1), "the page never finished loading"
    result = json.loads(html.unescape(probe.group(1)))
    assert result["errors"] == []
    assert not [line for line in dom.stderr.splitlines() if "Uncaught" in line]
    plots = {p["name"]: p for p in result["plots"]}
    for name in (
        "documents", "rejections-by-stage-reason", "kept-documents-per-language-iso-639-3-script",
        "language-id-score-of-kept-documents", "near-exact-duplicate-clusters-by-size",
        "documents-per-rounded-education-score-0-5", "stage-token-budgets", "qwen-tokens-per-stage",
    ):  # fmt: skip
        assert name in plots, sorted(plots)
        assert plots[name]["width"] > 100 and plots[name]["height"] > 20 and plots[name]["marks"] > 0, plots[name]
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [browser, *flags, f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and shot.stat().st_size > 10_000, done.stderr[-2000:]
    import pymupdf

    pixmap = pymupdf.Pixmap(str(shot))
    assert pixmap.width == 1200 and len(set(pixmap.samples[: pixmap.stride * 600])) > 2  # not a blank page


def test_the_cli_reports_a_malformed_config_in_one_line(capsys):
    from pipelines.run import main

    with pytest.raises(SystemExit, match=r"^error: annotate\.http\.timeout_s: a positive number \(seconds\)"):
        main(["--output", "/nonexistent/out", "--set", "annotate.http.timeout_s=soon"])

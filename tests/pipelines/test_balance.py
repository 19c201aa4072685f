"""Every stage checks its own balance from the counts it wrote, run alone as in the factory, and leaves the same
completion marker; a stage whose counts do not add up ends its CLI with one line and gets no marker.

The checks are tested on counts and files written here; the CLIs once with a stub job (no Beam) and, marked slow,
with the real curate and annotate jobs on a small input.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.text.normalize import content_hash
from pipelines import annotate, curate, stage_cli, stages
from pipelines.balance import check_annotate, check_curate, check_mix, check_stage
from pipelines.config import load_config
from pipelines.lock import LOCK_NAME
from schemas import DOCUMENT, to_table

ROOT = Path(__file__).resolve().parents[2]
SHORT = str(ROOT / "data" / "sample" / "text" / "short.jsonl")
SOURCES = f"sources=[{{name: t, type: jsonl, paths: ['{SHORT}']}}]"


def row(stage: str, outcome: str, reason: str, count: int) -> dict:
    return {"stage": stage, "outcome": outcome, "reason": reason, "count": count}


def test_curate_balances_input_against_kept_rejected_and_duplicate():
    counts = [row("read", "input", "a", 7), row("read", "input", "b", 3), row("curate", "kept", "", 5)]
    counts += [row("filter", "rejected", "short", 3), row("dedup", "duplicate", "exact", 2)]
    counts += [row("langid", "lang", "eng_Latn", 5)]  # not an outcome of the balance
    ok = check_curate(counts)
    assert ok.ok and ok.line() == "curate: 10 documents in → 5 kept, 3 rejected, 2 duplicate (balanced)"
    lost = check_curate(counts[:-2])
    assert lost.problems == ["input 10 != kept + rejected + duplicate 8"]
    assert check_curate([]).problems == ["no counts were written (curate.jsonl)"]


def test_annotate_balances_every_task_against_the_documents_read():
    counts = [row("annotate", "ok", "edu", 9), row("annotate", "failed", "edu", 1), row("annotate", "ok", "domain", 9)]
    counts += [row("annotate", "label", "edu:3", 9)]
    balance = check_annotate(counts, ["edu", "domain"], 10)
    assert balance.problems == ["domain: 9 ok + 0 failed != 10 documents read"]
    assert check_annotate(counts, ["edu"], 10).ok


def _mix_out(tmp_path: Path, rows: int = 3, tokens: int = 30) -> list[dict]:
    stage = tmp_path / "shards" / "S1"
    stage.mkdir(parents=True)
    (stage / "part-00000-000.parquet").write_bytes(b"x" * 100)
    (stage / "part-00001-000.parquet").write_bytes(b"y" * 50)
    shards = [
        {"path": "part-00000-000.parquet", "rows": 2, "tokens": 20, "bytes": 100},
        {"path": "part-00001-000.parquet", "rows": 1, "tokens": 10, "bytes": 50},
    ]
    manifest = {"stage": "S1", "totals": {"rows": 3, "tokens": 30}, "shards": shards}
    (stage / "manifest.json").write_text(json.dumps(manifest))
    return [
        row("mix", "instances", "S1", rows), row("mix", "tokens", "S1", tokens),
        row("mix", "lang_tokens", "S1:eng_Latn", 25), row("mix", "lang_tokens", "S1:rus_Cyrl", 5),
        row("mix", "documents", "read", 4), row("mix", "documents", "placed", 3),
        row("mix", "documents", "unplaced", 1),
    ]  # fmt: skip


def test_mix_balances_counts_manifest_and_shard_files(tmp_path):
    counts = _mix_out(tmp_path)
    balance = check_mix(counts, str(tmp_path))
    assert balance.ok, balance.problems
    assert balance.summary == "mix: S1 3 rows, 30 tokens in 2 files; 4 documents read → 3 placed, 1 not drawn, 0 failed"
    failed = check_mix([*counts, row("mix", "failed", "error:KeyError", 2)], str(tmp_path))
    assert failed.problems == ["documents: 4 read != placed + unplaced + failed 6"]  # a failed one is read too
    counts[4]["count"] = 6
    assert check_mix([*counts, row("mix", "failed", "error:KeyError", 2)], str(tmp_path)).ok
    counts[4]["count"] = 4
    (tmp_path / "shards" / "S1" / "part-00002-000.parquet").write_bytes(b"stray")
    (tmp_path / "shards" / "S1" / "part-00001-000.parquet").write_bytes(b"cut")
    problems = check_mix(counts, str(tmp_path)).problems
    assert "S1/part-00001-000.parquet: 3 bytes on storage, 50 written" in problems
    assert "S1: shard files not in its manifest: part-00002-000.parquet" in problems


def test_mix_finds_counts_that_disagree_with_the_shards(tmp_path):
    counts = _mix_out(tmp_path, rows=4)
    counts[2]["count"] = 24  # a breakdown that no longer adds up
    problems = check_mix(counts, str(tmp_path)).problems
    assert "S1: rows counted 4, manifest 3, shards 3" in problems
    assert "S1: lang_tokens add up to 29, not 30" in problems
    synth = check_mix([*counts[:2], row("mix", "synth_kept", "math", 2)], str(tmp_path), synth_records=3)
    assert "synthetic records: 3 read != kept + capped 2" in synth.problems


# --------------------------------------------------------------------------------------- the CLIs, stub jobs


def _stub_job(counts: list[dict]):
    def run_pipeline(build, config, beam_argv, progress_s=0.0, name="job"):
        out = Path(config["run"]["output"])
        (out / "counts").mkdir(parents=True, exist_ok=True)
        (out / "counts" / f"{name}.jsonl").write_text("".join(json.dumps(c) + "\n" for c in counts))
        assert (out / LOCK_NAME).exists()  # the job runs under the output lock
        return {"curate/kept": 1}

    return run_pipeline


def test_a_standalone_stage_whose_counts_do_not_balance_exits_with_one_line_and_no_marker(tmp_path, monkeypatch):
    counts = [row("read", "input", "t", 3), row("curate", "kept", "", 1), row("filter", "rejected", "short", 1)]
    monkeypatch.setattr(stage_cli, "run_pipeline", _stub_job(counts))
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as err:
        curate.run(["--output", str(out), "--set", SOURCES])
    assert str(err.value.code) == "error: curate: counts do not balance: input 3 != kept + rejected + duplicate 2"
    assert not (out / "_markers" / "curate.json").exists() and not (out / LOCK_NAME).exists()
    assert (out / "counts" / "curate.jsonl").exists()  # kept for inspection


def test_a_standalone_stage_leaves_the_factorys_marker_and_is_skipped_when_complete(tmp_path, monkeypatch, capsys):
    counts = [row("read", "input", "t", 3), row("curate", "kept", "", 2), row("dedup", "duplicate", "exact", 1)]
    monkeypatch.setattr(stage_cli, "run_pipeline", _stub_job(counts))
    out = tmp_path / "out"
    argv = ["--output", str(out), "--set", SOURCES]
    curate.run(argv)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("curate ") and " ran in " in line
    assert line.endswith("; curate: 3 documents in → 2 kept, 0 rejected, 1 duplicate (balanced)")
    config = load_config(None, [SOURCES, f"run.output={out}"])
    marker = stages.read_marker(str(out), "curate")
    assert marker["fingerprint"] == stages.chain_fingerprints(config, ["curate"])["curate"]  # what pipelines.run uses
    assert stages.is_complete(str(out), "curate", marker["fingerprint"])
    curate.run(argv)
    assert "complete from an earlier run, skipped" in capsys.readouterr().out
    curate.run([*argv, "--force"])
    assert "ran in" in capsys.readouterr().out


def test_standalone_synth_writes_its_manifest_before_the_marker(tmp_path, monkeypatch, capsys):
    from pipelines import synth

    counts = [row("synth", "input", "math", 4), row("synth", "kept", "math", 1)]
    counts += [row("synth_verify", "rejected", "wrong_answer", 2), row("synth_dedup", "duplicate", "minhash", 1)]
    monkeypatch.setattr(stage_cli, "run_pipeline", _stub_job(counts))
    out = tmp_path / "out"
    manifest = synth.run(["--output", str(out), "--set", SOURCES])
    assert manifest["balanced"] and manifest["totals"]["input"] == 4
    assert json.loads((out / "synth" / "manifest.json").read_text())["run_id"] == manifest["run_id"]
    marker = stages.read_marker(str(out), "synth")
    assert any(path.endswith("synth/manifest.json") for path, _ in marker["files"])
    assert "synth: 4 samples generated → 1 kept, 2 rejected, 1 duplicate (balanced)" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "synth").iterdir()) == ["manifest.json"]  # no temp file beside it


# --------------------------------------------------------------------------------------- the CLIs, real jobs

LOCAL = ["--direct_num_workers=1", "--direct_running_mode=in_memory", "--progress_s", "0"]


@pytest.mark.slow
def test_standalone_curate_and_annotate_check_their_real_counts(tmp_path, capsys):
    out = tmp_path / "out"
    curate.run(["--output", str(out), "--set", SOURCES, *LOCAL])
    assert "curate: 32 documents in →" in capsys.readouterr().out
    assert stages.read_marker(str(out), "curate")["counters"]

    texts = {
        "a": "Photosynthesis converts light energy into chemical energy stored in glucose molecules.",
        "b": "Mix flour, water and salt; knead for ten minutes and bake the loaf at 220 degrees.",
        "c": "The mitochondrion is the site of aerobic respiration in eukaryotic cells.",
    }
    docs = [
        {
            "id": k, "text": t, "source": "fixture", "locator": k, "lang": "eng_Latn", "lang_score": 1.0,
            "script": "Latn", "content_hash": content_hash(t), "n_chars": len(t), "n_tokens": None, "meta": {},
            "quality": None, "dedup_cluster": None, "dedup_cluster_size": None,
        }
        for k, t in texts.items()
    ]  # fmt: skip
    for old in (out / "curated").glob("documents-*.parquet"):
        old.unlink()
    pq.write_table(to_table(docs, DOCUMENT), out / "curated" / "documents-00000-of-00001.parquet")
    annotate.run(["--output", str(out), "--set", SOURCES, "--set", "annotate.mode=student", *LOCAL])
    printed = capsys.readouterr().out
    assert "annotate: 3 documents → edu 3 ok, 0 failed; domain 3 ok, 0 failed; safety 3 ok, 0 failed" in printed
    assert "(balanced)" in printed
    config = load_config(None, [SOURCES, "annotate.mode=student", f"run.output={out}"])
    assert check_stage("annotate", config).ok
    fingerprint = stages.chain_fingerprints(config, ["annotate"])["annotate"]
    assert stages.read_marker(str(out), "annotate")["fingerprint"] == fingerprint

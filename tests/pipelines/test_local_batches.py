"""Local batches (pipelines/local_batches.py): the curate CLI over the sample's real text as one job and as bounded
batches with the dedup index and ids carried across, compared record by record."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from curation.dedup.minhash import jaccard
from curation.dedup.shingles import shingles
from curation.sources import plan_ranges
from pipelines import curate
from pipelines.config import load_config
from pipelines.local_batches import WorkUnit, balance, batch_config, pack, plan_units, with_unit_bytes

ROOT = Path(__file__).resolve().parents[2]
TEXT = ROOT / "data" / "sample" / "text"
SPLIT = 300_000  # bytes per line range: licenses.jsonl and manpages.jsonl are cut into windows
BATCH_MB = 0.6
VERIFY = 0.8  # dedup.verify_jaccard in configs/default.yaml


def _rows(out: Path, kind: str) -> list[dict]:
    rows = []
    for path in sorted((out / "curated").glob(f"{kind}-*.parquet")):
        part = re.match(rf"{kind}-(b\d+)-", path.name)
        for row in pq.read_table(path).to_pylist():
            rows.append({**row, "_part": part.group(1) if part else ""})
    return rows


def _corpus(root: Path) -> Path:
    """The sample's licences, man pages and dirty lines, then a later file of copies: exact copies of licences,
    licences with one line changed, and a record reusing a licence's id with other text (a man page held back)."""
    root.mkdir(parents=True)
    for name in ("licenses.jsonl", "short.jsonl", "bad_input.jsonl"):
        shutil.copy(TEXT / name, root / name)
    manpages = (TEXT / "manpages.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (root / "manpages.jsonl").write_text("".join(manpages[:7] + manpages[8:]), encoding="utf-8")
    withheld = json.loads(manpages[7])  # glob(7): real text that passes the filters, for the reused id below
    licences = [json.loads(x) for x in (TEXT / "licenses.jsonl").read_text(encoding="utf-8").splitlines()]
    copies = [{**lic, "id": f"copy/{lic['id']}"} for lic in licences[3:40:6]]
    for lic in licences[:30:6]:
        lines = lic["text"].splitlines()
        lines[len(lines) // 2] = "This line was changed in the copy."
        copies.append({**lic, "id": f"near/{lic['id']}", "text": "\n".join(lines)})
    # Ids are made unique among the documents the filters keep, so the reused id carries text that passes them.
    copies.append({**licences[1], "text": withheld["text"]})
    with (root / "zz_copies.jsonl").open("w", encoding="utf-8") as f:
        f.writelines(json.dumps(c) + "\n" for c in copies)
    return root


@pytest.fixture(scope="module")
def both_ways(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("local_batches")
    corpus = _corpus(tmp / "corpus")
    config = {
        "sources": [{"name": "text", "type": "jsonl", "paths": [f"{corpus}/*.jsonl"], "split_bytes": SPLIT}],
        "decontam": {"curate": False},
    }
    path = tmp / "run.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    outs = {}
    for name, batch_mb in (("one", 0), ("batched", BATCH_MB)):
        outs[name] = tmp / name
        curate.run(["--config", str(path), "--output", str(outs[name]), "--set", f"run.local_batch_mb={batch_mb}"])
    runs = {name: {k: _rows(out, k) for k in ("documents", "rejections", "duplicates")} for name, out in outs.items()}
    batched = outs["batched"]
    runs["batched_out"] = str(batched)
    runs["texts"] = {}  # the input's texts by output id (the reused id has two)
    for file in sorted(corpus.glob("*.jsonl")):
        for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("text"), str):
                runs["texts"].setdefault(f"text/{record.get('id')}", []).append(record["text"])
    runs["batched"]["files"] = sorted(str(p.relative_to(batched)) for p in batched.rglob("*") if p.is_file())
    return runs


def test_units_are_balanced_over_worker_slots_heaviest_first():
    weights = [16, 1, 16, 1, 16, 1, 9]
    slots = balance(weights, 2)
    assert slots == [0, 1, 1, 1, 0, 1, 1]  # 16 16 16 9 1 1 1 onto the lighter slot each time: 32 vs 28
    assert balance(weights, 1) == [0] * 7 and balance([], 3) == []
    assert sorted(set(balance([5, 5, 5], 4))) == [0, 1, 2]  # more slots than units: one unit each


def test_the_plan_cuts_big_files_on_the_reader_grid_and_packs_batches(tmp_path):
    corpus = _corpus(tmp_path / "corpus")
    config = load_config(None, [])
    config["sources"] = [{"name": "t", "type": "jsonl", "paths": [f"{corpus}/*.jsonl"], "split_bytes": SPLIT}]
    units = plan_units(config)
    by_file: dict[str, list[WorkUnit]] = {}
    for unit in units:
        by_file.setdefault(Path(unit.path).name, []).append(unit)
    lic = by_file["licenses.jsonl"]
    size = (corpus / "licenses.jsonl").stat().st_size
    grid = [(r.start, r.end) for r in plan_ranges(str(corpus / "licenses.jsonl"), size, False, SPLIT)]
    assert [(u.start, u.end) for u in lic] == grid and len(grid) == 2  # the reader's own range grid
    assert sum(u.weight for u in lic) == (corpus / "licenses.jsonl").stat().st_size
    assert len(by_file["short.jsonl"]) == 1
    batches = pack(units, int(BATCH_MB * 1e6))
    assert [u for b in batches for u in b] == units  # every unit once, in order
    assert all(sum(u.weight for u in b) <= BATCH_MB * 1e6 for b in batches)
    cfg = batch_config(config, batches[1], 1, ["/x/index-b00000-00000-of-00001.parquet"], [])
    assert cfg["dedup"]["previous"] == ["/x/index-b00000-00000-of-00001.parquet"]
    assert cfg["dedup"]["index_lookup"] == "keys" and cfg["run"]["_part"] == "b00001"
    windows = cfg["sources"][0]["_units"][0]
    assert sum(len(w) for w in windows.values()) == len(batches[1])
    assert {w[2] for ws in windows.values() for w in ws} == {0}  # one worker: one slot
    two = batch_config(config, batches[1], 1, [], [], workers=2)["sources"][0]["_units"][0]
    loads = [sum(u.weight for u in batches[1] if [u.start, u.end, slot] in two[u.path]) for slot in (0, 1)]
    assert min(loads) > 0 and max(loads) - min(loads) <= max(u.weight for u in batches[1])  # LPT's bound
    assert "_units" not in config["sources"][0]  # the run's own config is left alone


def test_a_compressed_file_weighs_more_than_its_bytes_and_goes_whole(tmp_path):
    import gzip

    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress((TEXT / "manpages.jsonl").read_bytes()))
    config = load_config(None, [])
    config["sources"] = [{"name": "t", "type": "jsonl", "paths": [f"{tmp_path}/*.jsonl.gz"], "split_bytes": 1000}]
    (unit,) = plan_units(config)
    assert (unit.start, unit.end) == (0, None) and unit.weight == 4 * (tmp_path / "a.jsonl.gz").stat().st_size


def test_batches_reject_the_same_records_for_the_same_reasons(both_ways):
    one, batched = both_ways["one"], both_ways["batched"]
    assert len({r["_part"] for r in batched["documents"]}) >= 3  # it really ran in batches
    key = lambda r: (r["id"], r["stage"], r["reason"])  # noqa: E731
    assert sorted(map(key, batched["rejections"])) == sorted(map(key, one["rejections"]))
    # The id reused in a later file: rejected in both, in the batched run by the later batch.
    (reused,) = [r for r in batched["rejections"] if r["reason"] == "duplicate_id"]
    assert "an earlier batch" in reused["detail"] and "zz_copies.jsonl" in reused["locator"]


def test_every_document_comes_out_once_and_duplicates_point_at_kept_documents(both_ways):
    for run in (both_ways["one"], both_ways["batched"]):
        settled = [r for k in ("documents", "rejections", "duplicates") for r in run[k]]
        ids = [r["id"] for r in settled if r.get("reason") != "duplicate_id"]  # a reused id: its second record
        assert len(ids) == len(set(ids))
        kept = {d["id"] for d in run["documents"]}
        assert all(d["duplicate_of"] in kept for d in run["duplicates"])
    one, batched = both_ways["one"], both_ways["batched"]
    settled = lambda run: {r["id"] for k in ("documents", "duplicates") for r in run[k]}  # noqa: E731
    assert settled(batched) == settled(one)


def test_dedup_is_global_across_batches_and_never_merges_what_one_job_keeps_apart(both_ways):
    one, batched = both_ways["one"], both_ways["batched"]
    part = {d["id"]: d["_part"] for d in batched["documents"]}
    across = [d for d in batched["duplicates"] if part[d["duplicate_of"]] != d["_part"]]
    assert {d["method"] for d in across} == {"exact", "minhash"}  # the copies file found its originals
    mine = {d["id"]: d["id"] for d in batched["documents"]}
    mine |= {d["id"]: d["duplicate_of"] for d in batched["duplicates"]}
    copies = [d for d in batched["duplicates"] if d["id"].startswith("text/copy/")]
    assert len(copies) >= 3 and all(d["duplicate_of"] == mine[d["id"].replace("copy/", "", 1)] for d in copies)
    cluster = {d["id"]: d["id"] for d in one["documents"]} | {d["id"]: d["duplicate_of"] for d in one["duplicates"]}
    # No false merge: a batched cluster lies inside one one-job cluster, except where a batch met a verified pair
    # that one job's bucket centres did not try (dedup.verify_centres); such a member must truly reach
    # verify_jaccard (brute force here) with a member of its batched cluster.
    members = {}
    for d in batched["documents"] + batched["duplicates"]:
        members.setdefault(mine[d["id"]], []).append(d["id"])
    sets = lambda i: [set(shingles(t, "Latn")) for t in both_ways["texts"][i]]  # noqa: E731
    bridged = [dup for dup in batched["duplicates"] if cluster[dup["id"]] != cluster[dup["duplicate_of"]]]
    for dup in bridged:
        others = [m for m in members[dup["duplicate_of"]] if m != dup["id"]]
        best = max(jaccard(a, b) for m in others for a in sets(dup["id"]) for b in sets(m))
        assert best >= VERIFY, (dup["id"], best)
    assert len(bridged) <= 0.02 * len(batched["duplicates"]) + 1
    # The measured differences: the earlier batch's member is kept where one job keeps another (ties of the keep
    # policy, longer later copies), and a cluster bridged only by a later document may stay split.
    kept_one, kept_batched = {d["id"] for d in one["documents"]}, {d["id"] for d in batched["documents"]}
    split = len(kept_batched) - len(kept_one)
    assert -len(bridged) <= split <= 0.02 * len(kept_one) + 1  # a verified bridge merges two one-job clusters
    swapped = {cluster[k] for k in kept_batched - kept_one}
    assert len(swapped) <= 0.1 * len(kept_one)
    batch_of = {d["id"]: d["_part"] for k in ("documents", "duplicates") for d in batched[k]}
    assert all(batch_of[k] <= batch_of[cluster[k]] for k in kept_batched - kept_one)  # an earlier batch's member


def test_batches_cut_jsonl_into_enough_ranges_for_every_worker():
    config = load_config(None, [])
    config["sources"] = [{"name": "t", "type": "jsonl", "paths": ["x"]}, {"name": "p", "type": "pdf", "paths": ["y"]}]
    cfg = with_unit_bytes(config, 256_000_000, 2)
    assert cfg["sources"][0]["split_bytes"] == 32_000_000  # 4 ranges per worker in a 256 MB batch
    assert "split_bytes" not in cfg["sources"][1] and "split_bytes" not in config["sources"][0]
    assert with_unit_bytes(config, 1_000_000, 2)["sources"][0]["split_bytes"] == 4 << 20  # not below 4 MiB


def test_a_batched_run_leaves_one_counts_file_and_an_index_per_batch(both_ways):
    files = both_ways["batched"]["files"]
    counts = [f for f in files if f.startswith("counts/")]
    assert counts == ["counts/curate.jsonl"]  # the batches' counts were summed, their files removed
    assert not [f for f in files if f.startswith("dedup/ids-")]  # id files are scratch
    parts = {re.match(r"curated/documents-(b\d+)-", f).group(1) for f in files if f.startswith("curated/documents-")}
    index_parts = {re.match(r"dedup/index-(b\d+)-", f).group(1) for f in files if f.startswith("dedup/index-")}
    assert parts and index_parts == parts  # each batch that kept documents wrote its own index
    counts_file = Path(both_ways["batched_out"]) / "counts" / "curate.jsonl"
    rows = [json.loads(x) for x in counts_file.read_text().splitlines()]
    kept = sum(r["count"] for r in rows if r["outcome"] == "kept")
    assert kept == len(both_ways["batched"]["documents"])

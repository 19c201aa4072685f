"""pipelines.mix end to end on a real-text corpus with the lengths the stages need: shards bounded and shuffled, the
manifest adding up to the shards' contents, byte-identical reruns, pre-tokenised output, and the ablation on CPU."""

from __future__ import annotations

import glob
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation.mixture import edu_bucket, hash64
from curation.tokens import QwenTokenCounter
from pipelines import mix
from pipelines.ablation import ablation_settings
from pipelines.config import load_config
from pipelines.report import ablation_report_section, stage_composition_section
from schemas import SHARD_ROW
from tests.pipelines.mix_corpus import make_docs, write_run
from tests.pipelines.parquet_rows import read_rows

pytestmark = pytest.mark.slow  # whole Beam pipelines (four jobs) and eight proxy trainings: ~40 s on 2 idle cores

LANGS = ("eng_Latn", "rus_Cyrl", "zho_Hans", "arb_Arab")
LOCAL = ["--direct_num_workers=1", "--direct_running_mode=in_memory"]
MAX_ROWS, MAX_BYTES = 7, 60_000


@pytest.fixture(scope="module")
def corpus() -> tuple[list[dict], list[dict]]:
    specs = [(("web", "books")[i % 2], LANGS[i % 4], 150 + 61 * i) for i in range(80)]
    specs += [(("web", "books")[i % 2], "eng_Latn", 4500 + 1900 * i) for i in range(16)]  # 4.5K - 33K tokens
    return make_docs(specs, QwenTokenCounter())


def run_mix(root: Path, corpus, *extra: str) -> Path:
    out = root / "out"
    write_run(out, *corpus)
    sets = ["--set", f"mix.shards.max_rows={MAX_ROWS}", "--set", f"mix.shards.max_bytes={MAX_BYTES}"]
    mix.run(["--output", str(out), *sets, *extra, *LOCAL])
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory, corpus):
    tok = ["--set", "mix.shards.pretokenize=true"]
    a = run_mix(tmp_path_factory.mktemp("a"), corpus, *tok)
    b = run_mix(tmp_path_factory.mktemp("b"), corpus, *tok)
    c = run_mix(tmp_path_factory.mktemp("c"), corpus, "--set", "mix.seed=1")
    return a, b, c


def manifest(out: Path, stage: str) -> dict:
    return json.loads((out / "shards" / stage / "manifest.json").read_text())


def test_shards_are_bounded_named_and_shuffled(runs):
    out = runs[0]
    for stage in ("S1", "S2", "S3"):
        files = sorted(glob.glob(str(out / "shards" / stage / "part-*.parquet")))
        assert files, stage
        for f in files:
            assert re.fullmatch(r"part-\d{5}-\d{3}\.parquet", Path(f).name)
            rows = pq.read_table(f).to_pylist()
            assert 1 <= len(rows) <= MAX_ROWS
            size = sum(len(r["text"].encode()) + 4 * len(r["token_ids"] or ()) + 256 for r in rows)
            assert size <= MAX_BYTES or len(rows) == 1  # one row larger than the bound gets a file of its own
            keys = [hash64(0, stage, r["doc_id"], r["chunk_index"], r["copy_index"]) for r in rows]
            assert keys == sorted(keys)  # written in the order of the shuffle hash, not of the documents
        groups = {Path(f).name[5:10] for f in files}
        assert len(groups) > 1 or stage == "S3"
    s1 = read_rows(str(out / "shards" / "S1" / "part-*.parquet"), SHARD_ROW)
    assert any(r["copy_index"] > 0 for r in s1)  # small languages are upsampled by the temperature
    assert all(r["n_tokens"] <= 4096 for r in s1)
    assert all(r["edu_score"] >= 2.5 for r in read_rows(str(out / "shards/S2/part-*.parquet"), SHARD_ROW))
    s3 = read_rows(str(out / "shards" / "S3" / "part-*.parquet"), SHARD_ROW)
    assert all(4096 <= r["n_tokens"] <= 32768 and r["length_bucket"] in ("4k-16k", "16k-32k") for r in s3)


def test_manifest_adds_up_to_the_shards(runs):
    out = runs[0]
    for stage in ("S1", "S2", "S3"):
        m = manifest(out, stage)
        on_disk = sorted(Path(f).name for f in glob.glob(str(out / "shards" / stage / "part-*.parquet")))
        assert [s["path"] for s in m["shards"]] == on_disk
        rows_all, by = [], {k: {} for k in m["tokens_by"]}
        for shard in m["shards"]:
            path = out / "shards" / stage / shard["path"]
            rows = pq.read_table(path).to_pylist()
            assert shard["rows"] == len(rows) and shard["tokens"] == sum(r["n_tokens"] for r in rows)
            assert shard["bytes"] == path.stat().st_size
            rows_all += rows
        for r in rows_all:
            keys = {"lang": r["lang"], "domain": r["domain"] or "und", "edu": edu_bucket(r["edu_score"]),
                    "source": r["source"], "length": r["length_bucket"]}  # fmt: skip
            for name, key in keys.items():
                by[name][key] = by[name].get(key, 0) + r["n_tokens"]
        assert m["totals"]["rows"] == len(rows_all) and m["totals"]["tokens"] == sum(r["n_tokens"] for r in rows_all)
        assert m["tokens_by"] == by
        assert {r["recipe_id"] for r in rows_all} == {m["recipe_id"]} and {r["stage"] for r in rows_all} == {stage}
        assert m["shortfall_tokens"] == max(0, m["budget_tokens"] - m["totals"]["tokens"])
    counts = [json.loads(line) for line in (out / "counts" / "mix.jsonl").read_text().splitlines()]
    tokens = {c["reason"]: c["count"] for c in counts if c["outcome"] == "tokens"}
    assert tokens == {s: manifest(out, s)["totals"]["tokens"] for s in ("S1", "S2", "S3")}


def test_s3_long_context_split(runs):
    m = manifest(runs[0], "S3")
    share = m["tokens_by"]["length"].get("16k-32k", 0) / m["totals"]["tokens"]
    assert m["plan"]["target_shares"]["length"] == {"16k-32k": 0.75, "4k-16k": 0.25}
    assert share == pytest.approx(0.75, abs=0.15)  # 16 long documents: copies are whole, so only roughly


def test_reruns_are_byte_identical_and_seeds_differ(runs):
    a, b, c = runs
    for stage in ("S1", "S2", "S3"):
        assert (a / "shards" / stage / "manifest.json").read_bytes() == (
            b / "shards" / stage / "manifest.json"
        ).read_bytes()
        for f in manifest(a, stage)["shards"]:
            assert (a / "shards" / stage / f["path"]).read_bytes() == (b / "shards" / stage / f["path"]).read_bytes()
    drawn = {
        out: {(r["doc_id"], r["copy_index"]) for r in read_rows(str(out / "shards/S1/part-*.parquet"), SHARD_ROW)}
        for out in (a, c)
    }
    assert drawn[a] != drawn[c]


@pytest.fixture(scope="module")
def one_and_sliced(tmp_path_factory, corpus):
    """The same labelled corpus (token counts left to the mix, as curate leaves them) mixed in one job and in slices."""
    docs, labels = corpus
    docs = [{**d, "n_tokens": None} for d in docs]
    one = run_mix(tmp_path_factory.mktemp("one"), (docs, labels))
    sliced = run_mix(tmp_path_factory.mktemp("sliced"), (docs, labels), "--set", f"run.local_batch_mb={SLICE_MB}")
    return one, sliced


SLICE_MB = 1.2  # the fixture's Parquet (0.9 MB) weighs 3.6 MB as text: 3 slices


def _rows_by_stage(out: Path) -> dict[str, list[tuple]]:
    rows = {stage: read_rows(str(out / f"shards/{stage}/part-*.parquet"), SHARD_ROW) for stage in ("S1", "S2", "S3")}
    return {stage: sorted(repr(sorted(r.items())) for r in stage_rows) for stage, stage_rows in rows.items()}


def test_a_sliced_local_mix_writes_the_rows_of_one_job(one_and_sliced):
    from pipelines.mix_slices import plan_slices

    one, sliced = one_and_sliced
    config = load_config(None, [f"run.output={sliced}", f"run.local_batch_mb={SLICE_MB}"])
    assert plan_slices(config, []) == 3
    assert plan_slices(config, ["--runner=DataflowRunner", "--project=p", "--region=r"]) == 1  # one job there
    assert plan_slices(load_config(None, [f"run.output={sliced}"]), []) == 1  # fits one batch of 128 MB
    assert _rows_by_stage(one) == _rows_by_stage(sliced)  # copies, chunks, shuffle keys: the corpus plan's
    for stage in ("S1", "S2", "S3"):
        a, b = manifest(one, stage), manifest(sliced, stage)
        same = lambda m: {k: v for k, v in m.items() if k != "shards"} | {"totals": {  # noqa: E731
            k: v for k, v in m["totals"].items() if k not in ("files", "bytes")}}  # fmt: skip
        assert same(a) == same(b) and a["totals"]["rows"] == b["totals"]["rows"] > 0
        files = [f["path"] for f in b["shards"]]
        on_disk = sorted(Path(f).name for f in glob.glob(str(sliced / "shards" / stage / "part-*.parquet")))
        assert files == on_disk and all(re.fullmatch(r"part-b\d{5}-\d{5}-\d{3}\.parquet", f) for f in files)
        assert len({f[5:11] for f in files}) >= 2 or stage == "S3"  # several slices wrote this stage
        for f in files:
            rows = pq.read_table(sliced / "shards" / stage / f).to_pylist()
            keys = [hash64(0, stage, r["doc_id"], r["chunk_index"], r["copy_index"]) for r in rows]
            assert keys == sorted(keys) and len(rows) <= MAX_ROWS
    counts = [sorted((out / "counts" / "mix.jsonl").read_text().splitlines()) for out in (one, sliced)]
    assert counts[0] == counts[1] and len(counts[0]) > 10
    assert not list((sliced / "shards" / "_local").glob("*")) and not list((sliced / "counts").glob("mix-b*"))


def test_pretokenised_ids_are_the_qwen_tokens(runs):
    counter = QwenTokenCounter()
    rows = read_rows(str(runs[0] / "shards" / "S2" / "part-*.parquet"), SHARD_ROW)
    for r in rows[:10]:
        assert r["token_ids"] == counter.encoding.encode_ordinary(r["text"]) and len(r["token_ids"]) == r["n_tokens"]
    assert all(r["token_ids"] is None for r in read_rows(str(runs[2] / "shards/S2/part-*.parquet"), SHARD_ROW))
    assert manifest(runs[0], "S2")["pretokenized"] and not manifest(runs[2], "S2")["pretokenized"]


def test_ablation_end_to_end_on_cpu(tmp_path, corpus):
    out = tmp_path / "out"
    write_run(out, *corpus)
    sets = {
        "mix.ablation.k": 3,
        "mix.ablation.heldout_share": 0.25,
        "mix.ablation.tokens": 60000,
        "mix.ablation.seeds": "[0, 1]",
        "mix.ablation.presets.tiny.steps": 10,
    }
    argv = [x for k, v in sets.items() for x in ("--set", f"{k}={v}")]
    mix.run(["--ablation", "--output", str(out), "--device", "cpu", *argv, *LOCAL])
    res = json.loads((out / "ablation" / "results.json").read_text())
    assert [c["name"] for c in res["candidates"]] == ["C00", "C01", "C02"]
    # the base's S2 group weights, over the groups that have eligible documents (every document here is labelled)
    base = {"stem": 0.4 / 0.95, "code": 0.3 / 0.95, "other": 0.25 / 0.95}
    assert res["candidates"][0]["weights"] == pytest.approx(base)
    assert {t.split("=")[0] for t in res["targets"]} == {"domain", "lang"}
    for c in res["candidates"]:
        assert c["tokens"] > 0 and len(c["objective_per_seed"]) == 2 and 0 < c["objective"] < 9
    best = res["predicted_best"]
    assert sum(best["weights"].values()) == pytest.approx(1.0)
    assert best["objective"] > 0 and isinstance(best["beats_base"], bool)
    # the check uses fresh proxy seeds (never fitted on) for both the predicted best and the base
    assert best["verify_seeds"] == [1000, 1001] and len(best["base_objective_per_seed"]) == 2
    assert best["gain"] == pytest.approx(best["base_objective"] - best["objective"])
    assert best["gain_stderr"] > 0 and isinstance(best["significant"], bool)
    reg = res["regression"]
    assert reg["features"] in {"linear", "log", "quadratic"} and len(reg["candidates"]) == 12  # 3 features x 4 lambdas
    assert all(c["loo_prediction"] is not None for c in res["candidates"])
    assert -1 <= res["rank_stability_spearman"] <= 1
    heldout = {
        r["id"] for f in glob.glob(str(out / "ablation" / "heldout*.parquet")) for r in pq.read_table(f).to_pylist()
    }
    trained = {
        r["doc_id"]
        for f in glob.glob(str(out / "ablation/shards/*/part-*.parquet"))
        for r in pq.read_table(f).to_pylist()
    }
    assert heldout and trained and not heldout & trained  # held out of every training shard
    report = (out / "ablation" / "report.html").read_text()
    assert report.count("<svg") >= 3 and "Predicted best" in report and "C02" in report
    assert ablation_report_section(str(out)).count("<svg") >= 3  # the run report embeds it


def test_ablation_settings_refuse_verify_seeds_that_were_fitted_on():
    config = load_config(None, ["mix.ablation.seeds=[0, 1]", "mix.ablation.verify_seeds=[1, 2]"])
    with pytest.raises(ValueError, match="verify_seeds"):
        ablation_settings(config)
    config = load_config(None, ["mix.ablation.regression=cubic"])
    with pytest.raises(ValueError, match="regression"):
        ablation_settings(config)


def test_run_report_plots_stage_compositions(runs):
    section = stage_composition_section(str(runs[0]), ("S1", "S2", "S3"))
    assert section.count("<svg") == 15  # language, domain, edu, length, source per stage
    assert all(f"{s}: tokens by lang" in section for s in ("S1", "S2", "S3"))

import re
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from pipelines import config_schema, layout
from pipelines.config import ConfigError, load_config


def test_defaults_load_and_resolve_sample_paths():
    config = load_config()
    assert {s["type"] for s in config["sources"]} == {"pdf", "jsonl", "code"}
    assert all(p.startswith("/") for s in config["sources"] for p in s["paths"])


def test_set_overrides_parse_yaml_values():
    config = load_config(
        None, ["dedup.minhash.bands=10", "langid.languages=[eng_Latn, deu_Latn]", "run.output=gs://b/x"]
    )
    assert config["dedup"]["minhash"]["bands"] == 10
    assert config["langid"]["languages"] == ["eng_Latn", "deu_Latn"]
    assert config["run"]["output"] == "gs://b/x"


def test_user_config_merges_over_defaults(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("sources:\n  - {name: web, type: parquet, paths: [data/*.parquet]}\ndedup:\n  keep: first\n")
    config = load_config(str(path))
    assert config["sources"][0]["paths"] == [str(tmp_path / "data/*.parquet")]
    assert config["dedup"]["keep"] == "first" and config["dedup"]["minhash"]["bands"] == 14


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("dedup.minhash.bands=100", "exceeds num_perm"),
        ("dedup.keep=random", "dedup.keep"),
        ("dedup.shingles.ngram=3", "dedup.shingles"),
        ("dedup.minhash.ngram=5", "dedup.minhash"),
        ("dedup.verify_jaccard=1.5", "dedup.verify_jaccard"),
        ("sources=[]", "sources"),
        ("colour=red", "unknown config section"),
    ],
)
def test_invalid_configs_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


# ------------------------------------------------------------------------------ strict keys and values (issue 15)

ROOT = Path(__file__).resolve().parents[2]


def _user_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "my.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "key", "line", "column"),
    [
        (
            "sources:\n  - {name: a, type: jsonl, paths: [a.jsonl]}\n  - name: b\n    type: jsonl\n"
            "    paths: [b.jsonl]\n    txt_field: body\n",
            r"sources\[1\]\.txt_field: unknown key \(did you mean 'text_field'\?\)",
            6,
            5,
        ),
        ("run:\n  seed: 1\nextract:\n  unknownkey: 1\n", r"extract\.unknownkey: unknown key", 4, 3),
        ("filters:\n  no_such_filter:\n    x: 1\n", r"filters\.no_such_filter: unknown quality filter", 2, 3),
        ("extract:\n  ocr: {backend: magic}\n", r"extract\.ocr\.backend: one of auto, tesseract, vision, none", 2, 9),
        ("annotate:\n  http:\n    max_retries: -1\n", r"annotate\.http\.max_retries: a non-negative integer", 3, 5),
        ("synth:\n  sandbox: {wall_s: -1}\n", r"synth\.sandbox\.wall_s: a positive number \(seconds\)", 2, 13),
        ("extract:\n  pdf_max_memory_mb: -1\n", r"extract\.pdf_max_memory_mb: a non-negative integer", 2, 3),
        (
            "langid:\n  short_text:\n    polcy: und\n",
            r"langid\.short_text\.polcy: unknown key \(did you mean 'policy'",
            3,
            5,
        ),
        ("dedup:\n  keep: longst\n", r"dedup\.keep: one of .* \(did you mean 'longest'\?\), got 'longst'", 2, 3),
        (
            "filters:\n  gopher_quality:\n    languages:\n      deu: {max_avg_wrd_len: 13}\n",
            r"filters\.gopher_quality\.languages\.deu\.max_avg_wrd_len: unknown setting .*'max_avg_word_len'",
            4,
            13,
        ),
        ("mix:\n  stages:\n    S2: {min_edu_scor: 3}\n", r"mix\.stages\.S2\.min_edu_scor: unknown key", 3, 10),
        ("mix:\n  shards: {fill: 0}\n", r"mix\.shards\.fill: a number in \(0, 1\]", 2, 12),
        (
            "annotate:\n  modes: {edu: teacher, safty: student}\n",
            r"annotate\.modes\.safty: .*did you mean 'safety'",
            2,
            25,
        ),
        (
            "decontam:\n  benchmarks: [humaneval, humaneva]\n",
            r"decontam\.benchmarks\[1\]: .*did you mean 'humaneval'",
            2,
            27,
        ),
        ("synth:\n  recipes:\n    poetry: {candidates: 1}\n", r"synth\.recipes\.poetry: not a valid name", 3, 5),
        ("langid:\n  min_score_per_lang: {en: 0.5}\n", r"langid\.min_score_per_lang\.en: not a valid name", 2, 24),
        (
            "mix:\n  stages:\n    S3:\n      buckets:\n        - {name: a, min_tokens: 0, max_tokens: 9, share: 0.5}\n",
            r"mix\.stages: recipe S3: bucket shares must sum to 1",
            3,
            5,
        ),
    ],
)
def test_bad_keys_and_values_name_the_key_and_where_the_user_wrote_it(tmp_path, text, key, line, column):
    with pytest.raises(ConfigError, match=rf"^{key}.* at .*my\.yaml:{line}:{column}$"):
        load_config(_user_config(tmp_path, text))


@pytest.mark.parametrize(
    "override",
    [
        "sources=[{name: a, type: jsonl, paths: [a.jsonl], txt_field: body}]",
        "extract.unknownkey=1",
        "filters.no_such_filter.x=1",
        "extract.ocr.backend=magic",
        "annotate.http.max_retries=-1",
        "synth.sandbox.wall_s=-1",
        "extract.pdf_max_memory_mb=-1",
        "dedup.minhash.bands=100",
    ],
)
def test_a_bad_set_override_is_named_as_written(override):
    with pytest.raises(ConfigError, match=rf" at --set {re.escape(override)}$"):
        load_config(None, [override])


def test_zero_memory_limit_means_none_and_loads():
    assert load_config(None, ["extract.pdf_max_memory_mb=0"])["extract"]["pdf_max_memory_mb"] == 0


def test_ocr_backend_none_ignores_the_other_backends_default_settings():
    """Switching OCR off is one --set: the default dpi (a tesseract/vision setting) must not fail the run."""
    from curation.pdf.ocr import build_ocr_backend

    config = load_config(None, ["extract.ocr.backend=none"])
    assert config["extract"]["ocr"]["backend"] == "none" and build_ocr_backend(config["extract"]["ocr"]) is None
    with pytest.raises(ConfigError, match=r"extract\.ocr\.colour: .*did you mean|extract\.ocr\.colour"):
        load_config(None, ["extract.ocr.backend=none", "extract.ocr.colour=1"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("mix.stages={'../../../escape_stage': {seq_len: 4096}}", r"mix\.stages\['\.\./\.\./\.\./escape_stage'\]"),
        ("mix.stages=[{name: ../../../escape_stage, seq_len: 4096}]", r"mix\.stages\[0\]\.name: a safe name"),
        ("sources=[{name: web/part, type: jsonl, paths: [a.jsonl]}]", r"sources\[0\]\.name: a safe name"),
        ("sources=[{name: .., type: jsonl, paths: [a.jsonl]}]", r"sources\[0\]\.name: a safe name"),
        ("annotate.tasks=[../edu]", r"annotate\.tasks\[0\]: one of edu, domain, safety"),
        ("synth.recipes={../math: {candidates: 1}}", r"synth\.recipes\['\.\./math'\]: not a valid name"),
        ("synth.recipes.math.file=../../etc/passwd", r"synth\.recipes\.math\.file: a safe name"),
        ("mix.synth.stages=[S1, ../S2]", r"mix\.synth\.stages\[1\]: a safe name"),
        ("mix.ablation.presets={'a/b': {steps: 1}}", r"mix\.ablation\.presets\['a/b'\]: not a valid name"),
    ],
)
def test_names_that_become_paths_must_be_safe(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_a_stage_name_escaping_the_output_root_fails_in_a_user_file_too(tmp_path):
    path = _user_config(tmp_path, "mix:\n  stages:\n    ../../../escape_stage: {seq_len: 4096}\n")
    with pytest.raises(ConfigError, match=r"escape_stage'\]: not a valid name here: a safe name .* at .*my\.yaml:3:5$"):
        load_config(path)


def test_open_mappings_take_the_users_names(tmp_path):
    path = _user_config(
        tmp_path,
        "langid:\n  min_score_per_lang: {eng_Latn: 0.7, hrv: 0.4}\n"
        "filters:\n  c4: false\n  gopher_repetition:\n    top_7gram_char_frac: 0.2\n"
        "    languages: {Thai: {enabled: false}, zho_Hant: {dup_line_frac: 0.4}}\n"
        "mix:\n  stages:\n    S1: null\n    S4:\n      seq_len: 8192\n      domains: [code]\n"
        "      weights: {source: {web: 0.5}}\n      balance: {lang: {method: unimax, max_epochs: 2}, source: natural}\n"
        "annotate:\n  modes: {edu: student}\n  students: {edu: bundled:edu}\n",
    )
    config = load_config(path)
    assert config["mix"]["stages"]["S4"]["seq_len"] == 8192 and config["filters"]["c4"] is False


def test_the_default_filter_config_passes_the_filter_checks(tmp_path):
    from curation.filters import DEFAULT_FILTER_CONFIG

    load_config(_user_config(tmp_path, yaml.safe_dump({"filters": DEFAULT_FILTER_CONFIG})))


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "configs").glob("*.yaml")))
def test_every_shipped_config_loads(path):
    assert load_config(str(ROOT / path))["sources"]


def test_the_schema_knows_every_key_the_settings_objects_take():
    """Keys the code reads through dataclasses and defaults tables are all known, so none is refused."""
    from annotators.backends.base import SamplingParams
    from curation.decontam import DecontamSettings
    from curation.mixture import Balance, LengthBucket, Recipe, WeightSpec
    from curation.proxy_lm import ProxyConfig
    from pipelines.annotate import HTTP_DEFAULTS
    from pipelines.mix_synth import SynthMix
    from pipelines.mixing import ShardSpec
    from synth.sandbox import SandboxLimits
    from synth.seeds import SeedSettings
    from synth.verify import ExplanationSettings, MathSettings

    children = config_schema.schema().children
    expected = {
        "annotate.http": HTTP_DEFAULTS, "synth.http": HTTP_DEFAULTS, "mix.stages.*": Recipe,
        "mix.stages.*.weights": WeightSpec, "mix.stages.*.balance.*": Balance, "mix.stages.*.buckets[]": LengthBucket,
        "decontam": DecontamSettings, "mix.ablation.proxy": ProxyConfig, "mix.ablation.presets.*": ProxyConfig,
        "mix.synth": SynthMix, "mix.shards": ShardSpec, "synth.sandbox": SandboxLimits, "synth.seeds": SeedSettings,
        "synth.math": MathSettings, "synth.explanation": ExplanationSettings,
        "synth.recipes.*.sampling": SamplingParams, "synth.recipes.*.verify_sampling": SamplingParams,
    }  # fmt: skip
    for pattern, source in expected.items():
        keys = set(source) if isinstance(source, dict) else {f.name for f in fields(source)}
        assert keys <= children[pattern], (pattern, keys - children[pattern])


def test_constants_kept_in_the_schema_match_the_code():
    from curation.pdf.ocr import _KEYS
    from pipelines.annotate import BACKENDS, MODES

    assert config_schema.ANNOTATE_MODES == MODES and config_schema.ANNOTATE_BACKENDS == BACKENDS
    assert {b: set(k) for b, k in config_schema.OCR_KEYS.items() if b != "auto"} == _KEYS
    assert config_schema.OCR_KEYS["auto"] == config_schema.OCR_KEYS["tesseract"]


# ------------------------------------------------------------------------------------- output-root containment


@pytest.mark.parametrize(
    ("root", "path"),
    [
        ("out", "out/shards/../../escape_stage/part"),
        ("/data/run", "/data/run/annotations/../../other"),
        ("/data/run", "/data/run2/x"),
        ("gs://bucket/run", "gs://bucket/run/shards/../../../escape_stage"),
        ("gs://bucket/run", "gs://bucket/run-2/x"),
        ("gs://bucket/run", "s3://bucket/run/x"),
    ],
)
def test_under_root_refuses_paths_that_leave_the_output_root(root, path):
    with pytest.raises(ValueError, match="leaves the output root"):
        layout.under_root(root, path)


def test_under_root_keeps_paths_inside_and_layout_joins_check_it(tmp_path):
    assert layout.under_root("gs://bucket/run/", "gs://bucket/run/shards/S1/part") == "gs://bucket/run/shards/S1/part"
    assert layout.under_root("/data/run", "/data/run/a/../b") == "/data/run/a/../b"
    assert layout.shard_prefix(str(tmp_path), "S1") == str(tmp_path / "shards" / "S1" / "part")
    with pytest.raises(ValueError, match="leaves the output root"):
        layout.shard_prefix(str(tmp_path), "../../../escape_stage")
    with pytest.raises(ValueError, match="leaves the output root"):
        layout.annotations_prefix("out", "../../edu")


def test_each_source_type_takes_only_its_own_keys():
    jsonl = "sources=[{name: a, type: jsonl, paths: [a.jsonl], allow_empty: true, split_bytes: 1024, text_field: t}]"
    assert load_config(None, [jsonl])["sources"][0]["split_bytes"] == 1024
    with pytest.raises(ConfigError, match=r"sources\[0\]\.text_field: not a key of a pdf source"):
        load_config(None, ["sources=[{name: a, type: pdf, paths: [a.pdf], text_field: t}]"])
    with pytest.raises(ConfigError, match=r"sources\[1\]\.name: duplicate source name 'a'"):
        load_config(None, ["sources=[{name: a, type: pdf, paths: [a.pdf]}, {name: a, type: text, paths: [b]}]"])
    with pytest.raises(ConfigError, match=r"dedup\.source_priority\[0\]: unknown source 'sample-txt' \(did you mean"):
        load_config(None, ["dedup.source_priority=[sample-txt]"])

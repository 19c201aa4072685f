import pytest

from pipelines.config import ConfigError, load_config


def test_defaults_load_and_resolve_sample_paths():
    config = load_config()
    assert {s["type"] for s in config["sources"]} == {"pdf", "jsonl"}
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

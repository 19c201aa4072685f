"""Code-point tables cached on disk: equal to a fresh build, rebuilt when an input changes or the file is damaged."""

from __future__ import annotations

import numpy as np
import pytest

from curation.filters import words
from curation.text import langid, lid_decision
from curation.text.table_cache import cached_arrays, table_dir


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FACTORY_CACHE_DIR", str(tmp_path))
    return tmp_path / "tables"


def test_a_table_is_built_once_then_read(cache, tmp_path):
    source = tmp_path / "module.py"
    source.write_text("TABLE = 1\n")
    builds = []

    def build():
        builds.append(1)
        return {"lut": np.arange(10, dtype=np.uint8), "names": np.array(["", "Latn", "Cyrl"])}

    first = cached_arrays("t", [str(source)], build)
    second = cached_arrays("t", [str(source)], build)
    assert len(builds) == 1 and table_dir() == cache and len(list(cache.glob("t-*.npz"))) == 1
    assert np.array_equal(first["lut"], second["lut"]) and second["names"].tolist() == ["", "Latn", "Cyrl"]

    source.write_text("TABLE = 2\n")  # the code that builds it changed: a new table, the old one is not used
    cached_arrays("t", [str(source)], build)
    assert len(builds) == 2 and len(list(cache.glob("t-*.npz"))) == 2

    for stored in cache.glob("t-*.npz"):
        stored.write_bytes(stored.read_bytes()[:50])  # cut files are built again
    assert np.array_equal(cached_arrays("t", [str(source)], build)["lut"], np.arange(10))
    assert len(builds) == 3


def test_an_unwritable_cache_only_costs_the_build(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("FACTORY_CACHE_DIR", str(blocker))
    assert cached_arrays("t", [], lambda: {"x": np.ones(3)})["x"].tolist() == [1, 1, 1]


def test_the_real_tables_read_from_the_cache_equal_a_fresh_build(cache):
    for fn in (langid._noise_lut, lid_decision._script_table, lid_decision._han_table, words.word_patterns):
        fn.cache_clear()
    try:
        for _ in range(2):  # built and stored, then read back
            noise, (scripts, names), han = langid._noise_lut(), lid_decision._script_table(), lid_decision._han_table()
            bmp, astral = words.word_patterns()
            for fn in (langid._noise_lut, lid_decision._script_table, lid_decision._han_table, words.word_patterns):
                fn.cache_clear()
        assert len(list(cache.glob("*.npz"))) == 4
        assert np.array_equal(noise, langid._build_noise_lut()) and noise.dtype == bool
        fresh = lid_decision._build_script_table()
        assert np.array_equal(scripts, fresh["lut"]) and names == tuple(fresh["names"].tolist())
        assert names[0] == "" and "Latn" in names and isinstance(names[1], str)
        assert np.array_equal(han, lid_decision._build_han_table())
        assert (bmp.pattern, astral.pattern) == words._pattern_sources()
        assert words.split_words("Grüße aus 東京") == ["grüße", "aus", "東", "京"]
    finally:
        for fn in (langid._noise_lut, lid_decision._script_table, lid_decision._han_table, words.word_patterns):
            fn.cache_clear()

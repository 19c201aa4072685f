"""The decontamination Beam step: the index travels as a side input; hits become Rejections naming the item."""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from curation.decontam import gsm_symbolic_instance, gsm_symbolic_templates, load_benchmark
from pipelines.decontam import CONTAMINATED, INDEX_FILE, Decontaminate, contaminated_rejection
from pipelines.options import beam_options
from tests.annotators.texts import faq_section

CFG = {"benchmarks": ["humaneval", "champ", "gsm_symbolic"], "ngram": 13}


@pytest.mark.parametrize("prebuilt", [False, True], ids=["built-by-a-worker", "built-once-by-the-driver"])
def test_planted_items_become_rejections_and_clean_documents_pass(prebuilt):
    """As one job builds the index (on a worker) and as local batches load it (built once by the driver)."""
    from pipelines.local_batches import _decontam_index

    with _decontam_index({"decontam": {**CFG, "curate": True}}) as config:
        if prebuilt:
            assert Path(config["decontam"][INDEX_FILE]).stat().st_size > 0
            _check_planted_items(config["decontam"])
        else:
            _check_planted_items(CFG)
    assert not Path(config["decontam"][INDEX_FILE]).exists()  # the driver's file goes with the run


def _check_planted_items(cfg):
    template = gsm_symbolic_templates()[0]
    docs = [
        {"id": "clean", "source": "s", "locator": "a", "text": faq_section("what is Linux?!", 1500)},
        {"id": "he", "source": "s", "locator": "b", "text": "Intro.\n" + load_benchmark("humaneval")[3].text},
        {"id": "gsm", "source": "s", "locator": "c", "text": gsm_symbolic_instance(template, seed=99)["question"]},
    ]
    with beam.Pipeline(options=beam_options(["--runner=DirectRunner"])) as p:
        result = p | beam.Create(docs) | Decontaminate(cfg, "test")
        assert_that(result["clean"] | "CleanIds" >> beam.Map(lambda d: d["id"]), equal_to(["clean"]), label="Clean")
        rejections = result[CONTAMINATED] | beam.MapTuple(contaminated_rejection)
        assert_that(
            rejections | beam.Map(lambda r: (r["id"], r["stage"], r["reason"], r["detail"].split(" ")[0])),
            equal_to(
                [
                    ("he", "decontam", "benchmark_ngram", "humaneval:HumanEval/3"),
                    ("gsm", "decontam", "benchmark_ngram", f"gsm_symbolic:gsm_symbolic/{template}"),
                ]
            ),
            label="Rejected",
        )

"""The decontamination Beam step: the index travels as a side input; hits become Rejections naming the item."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from curation.decontam import gsm_symbolic_instance, gsm_symbolic_templates, load_benchmark
from pipelines.decontam import CONTAMINATED, Decontaminate, contaminated_rejection
from pipelines.options import beam_options
from tests.annotators.texts import faq_section

CFG = {"benchmarks": ["humaneval", "champ", "gsm_symbolic"], "ngram": 13}


def test_planted_items_become_rejections_and_clean_documents_pass():
    template = gsm_symbolic_templates()[0]
    docs = [
        {"id": "clean", "source": "s", "locator": "a", "text": faq_section("what is Linux?!", 1500)},
        {"id": "he", "source": "s", "locator": "b", "text": "Intro.\n" + load_benchmark("humaneval")[3].text},
        {"id": "gsm", "source": "s", "locator": "c", "text": gsm_symbolic_instance(template, seed=99)["question"]},
    ]
    with beam.Pipeline(options=beam_options(["--runner=DirectRunner"])) as p:
        result = p | beam.Create(docs) | Decontaminate(CFG, "test")
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

"""Per-record isolation: one record that raises becomes a Rejection and the bundle goes on; a run of failures in a
row is systemic and stops the job with a cause naming the stage, the exception and the first record id.

The DoFns below raise on purpose on marked records: they are fault injectors (a stand-in for a bug that only some
records trigger), not fakes of a component — every other part (Beam's runner, the decorators, the Rejection rows)
is real.
"""

from __future__ import annotations

import json

import apache_beam as beam
import pytest

from pipelines.isolation import ErrorBudget, SystemicError, per_batch, per_record
from pipelines.options import beam_options


def _doc(i: int, bad: bool = False) -> dict:
    return {"id": f"d{i}", "source": "s", "locator": f"s#{i}", "text": "boom" if bad else f"text {i}"}


class RaisesOnMarkedRecords(beam.DoFn):
    """Fault injector: yields a partial output, then raises ValueError for records whose text is 'boom'."""

    @per_record("filter")
    def process(self, doc: dict):
        yield {**doc, "stage": "partial"}
        if doc["text"] == "boom":
            raise ValueError(f"cannot handle {doc['id']}")


class RaisesInBatch(beam.DoFn):
    """Fault injector for batch steps: a batch containing a 'boom' record raises as a whole."""

    calls = 0

    @per_batch("langid")
    def process(self, batch: list[dict]):
        type(self).calls += 1
        if any(d["text"] == "boom" for d in batch):
            raise KeyError("boom")
        for doc in batch:
            yield {**doc, "lang": "eng_Latn"}


def _outputs(fn: beam.DoFn, element) -> list:
    return list(fn.process(element))


def test_a_raising_record_becomes_one_rejection_and_its_partial_output_is_dropped():
    fn = RaisesOnMarkedRecords()
    good = _outputs(fn, _doc(1))
    bad = _outputs(fn, _doc(2, bad=True))
    assert good == [{**_doc(1), "stage": "partial"}]
    assert len(bad) == 1 and isinstance(bad[0], beam.pvalue.TaggedOutput) and bad[0].tag == "rejections"
    row = bad[0].value
    assert (row["id"], row["stage"], row["reason"]) == ("d2", "filter", "error:ValueError")
    assert row["detail"] == "cannot handle d2" and row["source"] == "s" and row["locator"] == "s#2"


def test_a_failing_batch_is_rerun_record_by_record_so_only_the_bad_record_is_rejected():
    fn = RaisesInBatch()
    out = _outputs(fn, [_doc(1), _doc(2, bad=True), _doc(3)])
    kept = [o["id"] for o in out if isinstance(o, dict)]
    rejected = [o.value for o in out if isinstance(o, beam.pvalue.TaggedOutput)]
    assert kept == ["d1", "d3"]
    assert [(r["id"], r["stage"], r["reason"]) for r in rejected] == [("d2", "langid", "error:KeyError")]


def test_consecutive_failures_of_one_type_are_systemic_and_name_the_first_record():
    budget = ErrorBudget("normalize", limit=3)
    budget.failed("a", ValueError("x"))
    budget.ok()  # a success in between resets the run
    budget.failed("b", ValueError("first"))
    budget.failed("c", ValueError("second"))
    with pytest.raises(SystemicError, match=r"normalize: 3 records in a row failed with ValueError; first record id=b"):
        budget.failed("d", ValueError("third"))


def test_a_change_of_exception_type_starts_a_new_run():
    budget = ErrorBudget("filter", limit=2)
    budget.failed("a", ValueError("x"))
    budget.failed("b", KeyError("y"))  # different type: not the same systemic cause
    with pytest.raises(SystemicError, match="first record id=b"):
        budget.failed("c", KeyError("z"))


def test_systemic_errors_are_never_isolated():
    class DeadServer(beam.DoFn):
        @per_record("annotate")
        def process(self, doc):
            raise SystemicError("annotate: the model server is gone")
            yield doc

    with pytest.raises(SystemicError):
        _outputs(DeadServer(), _doc(1))


def _run(tmp_path, docs: list[dict], fn: beam.DoFn) -> tuple[list[dict], list[dict]]:
    out = tmp_path / "out"
    with beam.Pipeline(options=beam_options(["--direct_num_workers=1", "--direct_running_mode=in_memory"])) as p:
        result = p | beam.Create(docs) | beam.ParDo(fn).with_outputs("rejections", main="docs")
        for name in ("docs", "rejections"):
            result[name] | f"J{name}" >> beam.Map(json.dumps) | f"W{name}" >> beam.io.WriteToText(str(out / name))
    return tuple(
        [json.loads(line) for f in sorted(out.glob(f"{name}-*")) for line in f.read_text().splitlines()]
        for name in ("docs", "rejections")
    )


def test_the_job_goes_on_past_bad_records_on_a_real_runner(tmp_path):
    docs = [_doc(i, bad=i % 7 == 3) for i in range(40)]
    kept, rejected = _run(tmp_path, docs, RaisesOnMarkedRecords())
    assert sorted(d["id"] for d in kept) == sorted(d["id"] for d in docs if d["text"] != "boom")
    assert sorted(r["id"] for r in rejected) == sorted(d["id"] for d in docs if d["text"] == "boom")
    assert {r["reason"] for r in rejected} == {"error:ValueError"}


def test_a_job_where_every_record_fails_stops_with_a_one_line_systemic_cause(tmp_path):
    docs = [_doc(i, bad=True) for i in range(150)]
    with pytest.raises(Exception, match=r"SystemicError: filter: 100 records in a row failed with ValueError; "
                                        r"first record id=d\d+: ValueError: cannot handle d\d+"):  # fmt: skip
        _run(tmp_path, docs, RaisesOnMarkedRecords())

"""The Parquet reader on damaged files: a real Parquet file cut anywhere or with bytes overwritten gives its rows or
one ``corrupt_source`` Rejection per broken part, never an exception out of a DoFn and never a record twice.

The file is written here from the sample's real man pages, in several row groups, with each codec Arrow ships.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.pvalue import TaggedOutput
from hypothesis import given
from hypothesis import strategies as st

from pipelines.read_parquet import ParquetRowFn, PlanRowGroupsFn, ReadRowGroupFn
from tests.fuzz.profile import ROOT, fuzz

SOURCE = {"name": "pq", "type": "parquet", "paths": ["unused"]}
ROWS = [json.loads(line) for line in (ROOT / "data" / "sample" / "text" / "manpages.jsonl").read_bytes().splitlines()]
ROWS = [{"id": r["id"] if i % 3 else None, "text": r["text"][:3000]} for i, r in enumerate(ROWS[:40])]


def parquet_bytes(tmp: Path, codec: str, group_rows: int) -> bytes:
    path = tmp / f"whole-{codec}-{group_rows}.parquet"
    if not path.exists():
        pq.write_table(pa.Table.from_pylist(ROWS), path, row_group_size=group_rows, compression=codec)
    return path.read_bytes()


def read_through_the_dofns(path: Path) -> tuple[list[dict], list[dict]]:
    """Every output of plan → row groups → rows, split into Documents and Rejections."""
    prefix = str(path.parent) + "/"
    plan, groups, rows = PlanRowGroupsFn(SOURCE, prefix), ReadRowGroupFn(SOURCE, prefix), ParquetRowFn(SOURCE, prefix)
    docs, rejected = [], []

    def sort(out) -> list:
        nxt = []
        for item in out:
            if isinstance(item, TaggedOutput):
                rejected.append(item.value)
            else:
                nxt.append(item)
        return nxt

    for element in sort(plan.process(SimpleNamespace(path=str(path), size_in_bytes=path.stat().st_size))):
        for row in sort(groups.process(element)):
            docs.extend(sort(rows.process(row)))
    return docs, rejected


@fuzz(60)
@given(
    codec=st.sampled_from(["snappy", "zstd", "gzip", "none"]),
    group_rows=st.integers(1, 25),
    cut=st.one_of(st.none(), st.floats(0.0, 1.0)),
    patches=st.lists(st.tuples(st.floats(0.0, 1.0), st.binary(min_size=1, max_size=8)), max_size=4),
)
def test_a_damaged_parquet_file_gives_rows_or_corrupt_source(tmp_path_factory, codec, group_rows, cut, patches):
    tmp = tmp_path_factory.getbasetemp()
    data = bytearray(parquet_bytes(tmp, codec, group_rows))
    for where, junk in patches:
        at = int(where * (len(data) - 1))
        data[at : at + len(junk)] = junk
    if cut is not None:
        data = data[: int(cut * len(data))]
    path = tmp / "damaged.parquet"
    path.write_bytes(bytes(data))
    docs, rejected = read_through_the_dofns(path)
    ids = [d["id"] for d in docs] + [r["id"] for r in rejected]
    assert len(ids) == len(set(ids)), "a record or a rejection came out twice"
    assert len(docs) <= len(ROWS)
    for r in rejected:
        assert (r["stage"], r["reason"]) in {("read", "corrupt_source"), ("read", "missing_text")} or r[
            "reason"
        ].startswith("error:"), r
    for d in docs:
        assert isinstance(d["text"], str)
    if not patches and cut is None:
        assert not rejected and [d["text"] for d in docs] == [r["text"] for r in ROWS]

"""A dead model server is systemic: annotate stops with one line naming the stage, the failure and the first
document, instead of writing a table where every label failed (and it is not retried: a retry cannot help).

Nothing is faked: the teacher's HTTP backend really connects to a local port where nothing listens.
"""

from __future__ import annotations

import time

import pytest

from pipelines.isolation import DEFAULT_MAX_CONSECUTIVE_ERRORS
from pipelines.run import main
from tests.pipelines.test_faults import _curated, _free_port, _set, _teacher_args

pytestmark = pytest.mark.slow


def test_every_request_failing_stops_annotate_with_a_one_line_cause(tmp_path):
    out = tmp_path / "out"
    texts = {f"doc-{i:03d}": f"Document number {i} explains how plants turn light into sugar." for i in range(130)}
    _curated(out, texts)
    dead = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    args = _teacher_args(out, dead, "annotate.http.max_retries=0", "annotate.http.timeout_s=2")
    started = time.monotonic()
    with pytest.raises(SystemExit) as failed:
        main([*args, *_set("annotate.batch_size=8"), "--direct_num_workers=1", "--retries=2"])
    message = str(failed.value)
    assert message.startswith("error: annotate:") and "\n" not in message
    assert f"{DEFAULT_MAX_CONSECUTIVE_ERRORS} records in a row failed" in message
    assert "first record id=doc-" in message and "Connect" in message  # httpx ConnectError: the server is gone
    assert "Traceback" not in message
    assert time.monotonic() - started < 120  # not retried three times
    assert not (out / "_markers" / "annotate.json").exists()

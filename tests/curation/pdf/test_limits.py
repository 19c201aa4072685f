"""The isolation process: real child processes, real limits. Slow/greedy work is plain Python standing in for a
hung or exploding PDF (no real PDF reliably hangs MuPDF), named as such below."""

import os
import signal
import time
from pathlib import Path

import pytest

from curation.pdf import IsolatedRunner, PdfError, extract_pdf, pdf_info

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample" / "pdf"


def stand_in_for_hung_pdf(seconds: float) -> str:
    time.sleep(seconds)
    return "finished"


def stand_in_for_exploding_pdf(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def stand_in_for_native_crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


@pytest.fixture(scope="module")
def runner():
    with IsolatedRunner(timeout_s=20, max_memory_mb=1024) as r:
        yield r


def test_real_extraction_runs_in_the_child(runner):
    data = (SAMPLE / "debian-faq-fr.pdf").read_bytes()
    assert runner.run(extract_pdf, data).text == extract_pdf(data).text
    assert runner.run(pdf_info, data).page_count == 6


def test_pdf_errors_cross_the_process_boundary(runner):
    with pytest.raises(PdfError) as err:
        runner.run(pdf_info, (SAMPLE / "encrypted.pdf").read_bytes())
    assert err.value.reason == "pdf_encrypted"
    with pytest.raises(PdfError) as err:
        runner.run(extract_pdf, (SAMPLE / "broken.pdf").read_bytes())
    assert err.value.reason == "pdf_corrupt"


def test_timeout_kills_and_the_next_call_works():
    with IsolatedRunner(timeout_s=1, max_memory_mb=None) as runner:
        start = time.monotonic()
        with pytest.raises(PdfError) as err:
            runner.run(stand_in_for_hung_pdf, 60)
        assert err.value.reason == "pdf_timeout"
        assert time.monotonic() - start < 30
        assert runner.run(stand_in_for_hung_pdf, 0) == "finished"


def test_memory_limit_and_crash_become_reasons(runner):
    with pytest.raises(PdfError) as err:
        runner.run(stand_in_for_exploding_pdf, 4096)
    assert err.value.reason == "pdf_memory_limit"
    assert runner.run(stand_in_for_exploding_pdf, 16) == 16 * 1024 * 1024
    with pytest.raises(PdfError) as err:
        runner.run(stand_in_for_native_crash)
    assert err.value.reason == "pdf_crashed"
    assert runner.run(pdf_info, (SAMPLE / "debian-faq-fr.pdf").read_bytes()).page_count == 6

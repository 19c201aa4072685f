"""Fault injection for the pipeline fault tests: a worker process that dies in the middle of a bundle.

Imported by reference in the Beam worker processes (they start in the repository root, like pytest), so the DoFn
below replaces the real NormalizeFn in a real multi-process run without any hook in the production code.
"""

from __future__ import annotations

import os

from pipelines.curate_steps import NormalizeFn


class CrashOnceNormalizeFn(NormalizeFn):
    """The real NormalizeFn, except that the first worker to reach ``crash_after`` documents in one bundle kills its
    own process (``os._exit``: no cleanup, no exception, as an OOM kill or a preempted VM would); a marker file
    makes that happen once per test, so the retried job succeeds."""

    def __init__(self, cfg, marker: str, crash_after: int = 5):
        super().__init__(cfg)
        self.marker = marker
        self.crash_after = crash_after
        self.seen = 0

    def start_bundle(self):
        self.seen = 0

    def process(self, doc):
        self.seen += 1
        if self.seen == self.crash_after:
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                os._exit(17)
        yield from super().process(doc)


def heavy_pdf(n_ops: int = 2_000_000) -> bytes:
    """A real, valid one-page PDF whose content stream draws ``n_ops`` ruling lines: MuPDF needs seconds to interpret
    it (and the table finder looks at every line), so it stalls the parser far beyond a 1 s extraction budget."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "A page whose drawing never ends.")
    ops = b"".join(
        (b"%d 0 m %d 800 l S\n" % (i % 600, i % 600)) if i % 2 else (b"0 %d m 600 %d l S\n" % (i % 800, i % 800))
        for i in range(n_ops)
    )
    xref = page.get_contents()[0]
    doc.update_stream(xref, doc.xref_stream(xref) + b"\n" + ops, compress=True)
    return doc.tobytes(garbage=3, deflate=True)

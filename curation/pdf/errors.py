"""The one exception of PDF extraction: a reason that becomes a Rejection, never a crashed worker."""

from __future__ import annotations


class PdfError(ValueError):
    """A PDF (or page range) that yields no document; ``reason`` is the Rejection reason."""

    def __init__(self, reason: str, detail: str | None = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

    def __reduce__(self):  # picklable across the isolation process boundary
        return (PdfError, (self.reason, self.detail))

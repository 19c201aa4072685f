"""OCR backends behind one interface, chosen by the run config (``ocr: {backend: tesseract|vision|none, ...}``)."""

from __future__ import annotations

import os

from curation.pdf.ocr.base import OcrBackend, OcrResult, PageImage, parse_language, render_page
from curation.pdf.ocr.tesseract import TesseractOcr, script_to_tesseract_langs, tesseract_languages
from curation.pdf.ocr.vision import VisionLlmOcr

__all__ = [
    "OcrBackend",
    "OcrResult",
    "PageImage",
    "TesseractOcr",
    "VisionLlmOcr",
    "build_ocr_backend",
    "parse_language",
    "render_page",
    "script_to_tesseract_langs",
    "tesseract_languages",
]

_KEYS = {
    "tesseract": {"dpi", "languages", "tessdata", "psm", "timeout"},
    "vision": {
        "base_url", "model", "api_key", "api_key_env", "timeout", "max_concurrency", "max_retries", "prompt",
        "max_tokens", "dpi", "backoff",
    },
    "none": set(),
}  # fmt: skip


def build_ocr_backend(cfg: dict | None) -> OcrBackend | None:
    """The backend a config asks for, or None for ``backend: none`` (pages that need OCR then stay empty).

    Unknown keys are an error, so a typo (``max_concurency``) fails the run at start instead of being ignored.
    The vision API key may come from the environment (``api_key_env: VLLM_API_KEY``) to keep it out of configs.
    """
    cfg = dict(cfg or {})
    backend = str(cfg.pop("backend", "none")).lower()
    if backend not in _KEYS:
        raise ValueError(f"unknown OCR backend {backend!r}; expected one of {sorted(_KEYS)}")
    # ``none`` switches OCR off: settings left over for the other backends (the default ``dpi``) are ignored
    allowed = set().union(*_KEYS.values()) if backend == "none" else _KEYS[backend]
    unknown = set(cfg) - allowed
    if unknown:
        raise ValueError(f"unknown keys for OCR backend {backend!r}: {sorted(unknown)}")
    if backend == "none":
        return None
    if backend == "tesseract":
        return TesseractOcr(**cfg)
    env = cfg.pop("api_key_env", None)
    if env and not cfg.get("api_key"):
        cfg["api_key"] = os.environ.get(env)
    return VisionLlmOcr(**cfg)

"""OCR by a vision LLM behind an OpenAI-compatible chat-completions endpoint (vLLM serving e.g. Qwen2.5-VL).

Standard library only (urllib + a thread pool): the call is one JSON POST per page, and the pipeline's workers
must not need an SDK. Pages run concurrently (the server batches them); each request has a timeout and retries
with exponential backoff on transient failures (connection errors, timeouts, 429, 5xx, a body that is not the
expected JSON). A page that still fails becomes an ``OcrResult`` with ``error`` set and empty text.
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from curation.pdf.ocr.base import OcrBackend, OcrResult, PageImage, parse_language

DEFAULT_PROMPT = (
    "Transcribe all text on this page image exactly as written, in reading order. Keep the original language and "
    "script; do not translate, summarise or describe images. Write tables as Markdown tables and formulas as "
    "LaTeX. Output only the page text."
)
_FENCE = re.compile(r"^\s*```[\w+-]*[ \t]*\n(.*?)\n?```\s*$", re.DOTALL)
_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class _Transient(Exception):
    """A failure worth retrying."""


def strip_fences(content: str) -> str:
    """Remove one Markdown code fence wrapping the whole answer (models like to add ```markdown ... ```)."""
    match = _FENCE.match(content)
    return match.group(1) if match else content.strip()


class VisionLlmOcr(OcrBackend):
    name = "vision"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_concurrency: int = 8,
        max_retries: int = 3,
        prompt: str = DEFAULT_PROMPT,
        max_tokens: int = 4096,
        dpi: int = 150,
        backoff: float = 1.0,
    ):
        """``base_url`` up to the API root (``http://host:8000/v1``); ``dpi`` 150 gives an A4 page ~2 Mpx,
        which Qwen2.5-VL reads well without spending thousands of image tokens."""
        if not base_url or not model:
            raise ValueError("vision OCR needs base_url and model")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.max_concurrency = max(1, max_concurrency)
        self.max_retries = max(0, max_retries)
        self.prompt = prompt
        self.max_tokens = max_tokens
        self.dpi = dpi
        self.backoff = backoff

    def request_body(self, image: PageImage, languages: list[str]) -> dict:
        """The chat-completions request for one page: image as a base64 PNG data URL, then the instruction."""
        prompt = self.prompt
        hints = [lang for lang, _ in map(parse_language, languages) if lang] + [
            script for _, script in map(parse_language, languages) if script
        ]
        if hints:
            prompt += f" Expected language/script: {', '.join(dict.fromkeys(hints))}."
        data_url = "data:image/png;base64," + base64.b64encode(image.png).decode("ascii")
        return {
            "model": self.model,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": data_url}},
                        {"type": "text", "text": prompt},
                    ],
                }
            ],
            "max_tokens": self.max_tokens,
            "temperature": 0,
        }

    def _post(self, body: bytes) -> dict:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as err:
            detail = err.read()[:300].decode("utf-8", "replace")
            if err.code in _RETRY_STATUS:
                raise _Transient(f"HTTP {err.code}: {detail}") from None
            raise RuntimeError(f"HTTP {err.code}: {detail}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
            raise _Transient(f"{type(err).__name__}: {getattr(err, 'reason', err)}") from None
        try:
            return json.loads(raw)
        except ValueError:
            raise _Transient(f"malformed JSON response: {raw[:200]!r}") from None

    @staticmethod
    def parse_response(payload: dict) -> tuple[str, str | None]:
        """(text, error) from a chat-completions response; error when the answer was cut at max_tokens."""
        try:
            choice = payload["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise _Transient(f"unexpected response shape: {str(payload)[:200]}") from None
        if isinstance(content, list):  # some servers return content parts
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        text = strip_fences(content or "")
        if choice.get("finish_reason") == "length":
            return text, "truncated: the answer reached max_tokens"
        return text, None

    def _recognize_one(self, image: PageImage, languages: list[str]) -> OcrResult:
        body = json.dumps(self.request_body(image, languages)).encode("utf-8")
        error = "not attempted"
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                text, warning = self.parse_response(self._post(body))
                return OcrResult(text, None, self.name, error=warning)
            except _Transient as err:
                error = str(err)
            except Exception as err:  # a permanent failure (4xx): retrying cannot help
                return OcrResult("", None, self.name, error=f"{type(err).__name__}: {err}")
        return OcrResult("", None, self.name, error=f"failed after {self.max_retries + 1} attempts: {error}")

    def recognize(self, pages: list[PageImage], languages: list[str]) -> list[OcrResult]:
        if not pages:
            return []
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(pages))) as pool:
            return list(pool.map(lambda image: self._recognize_one(image, languages), pages))

"""OCR backends: real Tesseract on real pages; the vision backend against a fake chat-completions server.

Gap, said plainly: no vision model can be served on this machine (no GPU), so the vision backend's request
building and response handling are tested against ``FakeChatCompletionsServer`` below, a stdlib HTTP server that
answers in the recorded shape of vLLM's OpenAI-compatible ``/v1/chat/completions`` and injects the faults (500s,
timeouts, malformed JSON, cut answers). Whether a real Qwen2.5-VL transcribes these pages well is not tested here.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pymupdf
import pytest

from curation.pdf.ocr import (
    OcrResult,
    PageImage,
    TesseractOcr,
    VisionLlmOcr,
    build_ocr_backend,
    parse_language,
    render_page,
    script_to_tesseract_langs,
    tesseract_languages,
)
from curation.pdf.ocr.vision import strip_fences

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "data" / "sample" / "pdf"
needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None or not tesseract_languages(),
    reason="tesseract (apt: tesseract-ocr + tesseract-ocr-<lang>) is not installed",
)


def _grams(text: str) -> set[str]:
    chars = "".join(text.split())
    return {chars[i : i + 3] for i in range(len(chars) - 2)}


def _page_image(name: str, number: int, dpi: int = 72) -> PageImage:
    with pymupdf.open(SAMPLE / name) as doc:
        return render_page(doc[number - 1], dpi)


# --- language packs -------------------------------------------------------------------------------------------


def test_parse_language_tags():
    assert parse_language("fas_Arab") == ("fas", "Arab")
    assert parse_language("zh-Hans") == ("zh", "Hans")
    assert parse_language("Cyrl") == (None, "Cyrl")
    assert parse_language("eng") == ("eng", None)


def test_script_to_tesseract_langs_uses_only_installed_packs():
    installed = {"eng", "rus", "fas", "ara", "chi_sim", "chi_tra", "script/Thai"}
    assert script_to_tesseract_langs("Arab", "fas", installed) == ["fas", "eng"]
    assert script_to_tesseract_langs("Arab", "urd", installed) == ["ara", "eng"]  # no urd pack: the script's
    assert script_to_tesseract_langs("Hant", "zho", installed) == ["chi_tra", "eng"]
    assert script_to_tesseract_langs("Hans", "zh", installed) == ["chi_sim", "eng"]
    assert script_to_tesseract_langs("Cyrl", None, installed) == ["rus", "eng"]
    assert script_to_tesseract_langs("Thai", "tha", installed) == ["script/Thai", "eng"]
    assert script_to_tesseract_langs("Latn", "deu", installed) == ["eng"]  # no deu pack; Latin needs no extra eng
    assert script_to_tesseract_langs("Hang", "kor", {"eng"}) == []  # nothing fits: the caller decides


@needs_tesseract
def test_installed_packs_match_the_tesseract_cli():
    import subprocess

    out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=True).stdout
    cli = {line.strip() for line in out.splitlines()[1:] if line.strip()} - {"osd"}
    assert tesseract_languages() == frozenset(cli)
    for script, lang in [("Arab", "fas"), ("Cyrl", "rus"), ("Hans", "zho"), ("Jpan", "jpn"), ("Thai", "tha")]:
        assert set(script_to_tesseract_langs(script, lang)) <= cli


@needs_tesseract
def test_tesseract_rejects_packs_that_are_not_installed():
    with pytest.raises(ValueError, match="not installed"):
        TesseractOcr(languages="eng+xxx_not_a_pack")


# --- Tesseract on real pages ----------------------------------------------------------------------------------


@needs_tesseract
def test_tesseract_reads_the_image_only_page():
    ocr = TesseractOcr(dpi=300)
    with pymupdf.open(SAMPLE / "debian-reference-zh-cn.pdf") as doc:
        page = doc[0]
        assert page.get_text().strip() == ""  # no text layer: only OCR can read the logo's word
        from_page = ocr.recognize_page(page, ["zho_Hans"])
        from_png = ocr.recognize([render_page(page, 300)], ["zho_Hans"])[0]
    assert from_page.ok and from_png.ok
    assert "debian" in from_page.text.lower()
    assert "debian" in from_png.text.lower()
    assert from_png.backend == "tesseract" and 0.7 < from_png.confidence <= 1  # the logo's word reads at ~0.95
    assert from_png.decision.source == "declared" and from_png.decision.langs == "chi_sim+eng"


@needs_tesseract
def test_tesseract_reads_the_tilted_line_on_the_arabi_image_page():
    # page 5 is a JPEG drawing whose only text is one English line written at ~20 degrees; rendered deskewed
    with pymupdf.open(SAMPLE / "texlive-arabic-arabi-user-guide.pdf") as doc:
        page = doc[4]
        assert page.get_text().strip() == ""
        matrix = pymupdf.Matrix(300 / 72, 300 / 72).prerotate(20)
        pix = page.get_pixmap(matrix=matrix, clip=pymupdf.Rect(300, 300, 480, 420))
    result = TesseractOcr().recognize([PageImage(5, pix.tobytes("png"), 300)], ["eng"])[0]
    assert result.ok
    assert "wishes" in result.text.lower() and "your" in result.text.lower()


@needs_tesseract
def test_tesseract_text_page_matches_the_text_layer():
    with pymupdf.open(SAMPLE / "debian-faq-ru.pdf") as doc:
        page = doc[1]
        layer = page.get_text()
        image = render_page(page, 200, gray=True)  # gray PNG: converted for MuPDF's OCR writer
    ocr = TesseractOcr(dpi=200)
    assert ocr.languages_for(["rus_Cyrl"]) == "rus+eng"
    result = ocr.recognize([image], ["rus_Cyrl"])[0]
    assert result.ok
    layer_grams = _grams(layer)
    assert len(layer_grams) > 300
    assert len(layer_grams & _grams(result.text)) / len(layer_grams) > 0.85


@needs_tesseract
def test_tesseract_failed_page_does_not_fail_the_batch():
    good = _page_image("debian-reference-zh-cn.pdf", 1, dpi=150)
    broken = PageImage(number=2, png=b"\x89PNG\r\n\x1a\n truncated", dpi=150)
    results = TesseractOcr(dpi=150).recognize([broken, good], ["eng"])
    assert [r.ok for r in results] == [False, True]
    assert results[0].text == "" and results[0].error
    assert "debian" in results[1].text.lower()


# --- config -----------------------------------------------------------------------------------------------------


def test_build_ocr_backend_from_config(monkeypatch):
    assert build_ocr_backend({"backend": "none"}) is None
    assert build_ocr_backend(None) is None
    monkeypatch.setenv("TEST_VLLM_KEY", "k-123")
    vision = build_ocr_backend(
        {"backend": "vision", "base_url": "http://127.0.0.1:9/v1", "model": "Qwen/Qwen2.5-VL-7B-Instruct",
         "api_key_env": "TEST_VLLM_KEY", "max_concurrency": 2}
    )  # fmt: skip
    assert isinstance(vision, VisionLlmOcr)
    assert vision.api_key == "k-123" and vision.max_concurrency == 2
    with pytest.raises(ValueError, match="unknown keys"):
        build_ocr_backend({"backend": "vision", "base_url": "http://x/v1", "model": "m", "max_concurency": 2})
    with pytest.raises(ValueError, match="unknown OCR backend"):
        build_ocr_backend({"backend": "abbyy"})


@needs_tesseract
def test_build_tesseract_backend_from_config():
    backend = build_ocr_backend({"backend": "tesseract", "dpi": 200, "languages": "eng"})
    assert isinstance(backend, TesseractOcr)
    assert backend.dpi == 200 and backend.languages_for(["jpn"]) == "eng"  # fixed packs win over hints


# --- vision backend against a fake server -----------------------------------------------------------------------


class FakeChatCompletionsServer:
    """FAKE vLLM-style server (stdlib http.server) for request/response/fault tests; not a model.

    ``script`` is a list of actions consumed one per request: ("ok", content[, finish_reason]), ("status", code),
    ("sleep", seconds) then a normal answer, ("garbage", raw_bytes). When the list runs out it answers "ok".
    ``fail_for`` maps a base64 image prefix to an HTTP status that image always gets.
    """

    def __init__(self, script=None, fail_for=None, delay: float = 0.0):
        self.script = list(script or [])
        self.fail_for = dict(fail_for or {})
        self.delay = delay
        self.requests: list[dict] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                    action = fake.script.pop(0) if fake.script else ("ok", None)
                released = False

                def release() -> None:  # the request stops counting before its answer is sent: once the client
                    nonlocal released  # has it, it may send the next one before this thread gets here again
                    if not released:
                        released = True
                        with fake.lock:
                            fake.in_flight -= 1

                try:
                    fake.respond(self, body, action, release)
                finally:
                    release()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def respond(self, handler, body, action, release):
        time.sleep(self.delay)
        url = body["messages"][0]["content"][0]["image_url"]["url"]
        for prefix, status in self.fail_for.items():
            if url.startswith(prefix):
                action = ("status", status)
        kind = action[0]
        if kind == "sleep":
            time.sleep(action[1])
            action = ("ok", None)
        if kind == "status":
            payload = json.dumps({"object": "error", "message": "fake failure", "code": action[1]}).encode()
            handler.send_response(action[1])
        elif kind == "garbage":
            payload = action[1]
            handler.send_response(200)
        else:
            content = action[1] if action[1] is not None else f"page text for {body['model']}"
            finish = action[2] if len(action) > 2 else "stop"
            payload = json.dumps(
                {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": body["model"],
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                              "finish_reason": finish}],
                 "usage": {"prompt_tokens": 1000, "completion_tokens": 20, "total_tokens": 1020}}
            ).encode()  # fmt: skip
            handler.send_response(200)
        release()
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        try:
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def _vision(server: FakeChatCompletionsServer, **kwargs) -> VisionLlmOcr:
    options = {"timeout": 5.0, "max_retries": 2, "backoff": 0.01, "max_concurrency": 4} | kwargs
    return VisionLlmOcr(server.base_url, "Qwen/Qwen2.5-VL-7B-Instruct", **options)


def test_vision_request_carries_the_page_image_and_settings():
    image = _page_image("debian-faq-fr.pdf", 1)
    with FakeChatCompletionsServer() as server:
        result = _vision(server, api_key="secret-key", max_tokens=2048).recognize([image], ["fra_Latn"])[0]
    assert result.ok and result.backend == "vision"
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer secret-key"
    body = request["body"]
    assert body["model"] == "Qwen/Qwen2.5-VL-7B-Instruct"
    assert body["temperature"] == 0 and body["max_tokens"] == 2048
    image_part, text_part = body["messages"][0]["content"]
    prefix = "data:image/png;base64,"
    assert image_part["type"] == "image_url" and image_part["image_url"]["url"].startswith(prefix)
    assert base64.b64decode(image_part["image_url"]["url"][len(prefix) :]) == image.png
    assert text_part["type"] == "text" and "fra" in text_part["text"] and "Latn" in text_part["text"]


def test_vision_response_fences_and_parts_are_unwrapped():
    image = _page_image("debian-faq-fr.pdf", 1)
    with pymupdf.open(SAMPLE / "debian-faq-fr.pdf") as doc:
        page_text = doc[0].get_text().strip()
    fenced = f"```markdown\n{page_text}\n```"
    script = [("ok", fenced), ("ok", [{"type": "text", "text": page_text}])]
    with FakeChatCompletionsServer(script) as server:
        first, second = (_vision(server, max_concurrency=1).recognize([image], [])[0] for _ in range(2))
    assert first.text == page_text and second.text == page_text
    assert strip_fences("no fence here\n") == "no fence here"
    assert strip_fences("```\nplain\n```") == "plain"


def test_vision_retries_transient_failures_with_backoff():
    image = _page_image("debian-faq-de.pdf", 1)
    script = [("status", 503), ("garbage", b"<html>proxy error</html>"), ("ok", "recovered")]
    with FakeChatCompletionsServer(script) as server:
        result = _vision(server, max_retries=2).recognize([image], [])[0]
    assert result.ok and result.text == "recovered"
    assert len(server.requests) == 3


def test_vision_gives_up_after_retries_and_reports_the_error():
    image = _page_image("debian-faq-de.pdf", 1)
    with FakeChatCompletionsServer([("status", 500)] * 5) as server:
        result = _vision(server, max_retries=2).recognize([image], [])[0]
    assert not result.ok and result.text == ""
    assert "3 attempts" in result.error and "500" in result.error
    assert len(server.requests) == 3


def test_vision_client_errors_are_not_retried():
    image = _page_image("debian-faq-de.pdf", 1)
    with FakeChatCompletionsServer([("status", 400)]) as server:
        result = _vision(server, max_retries=3).recognize([image], [])[0]
    assert not result.ok and "400" in result.error
    assert len(server.requests) == 1


def test_vision_timeout_is_a_page_error():
    image = _page_image("debian-faq-de.pdf", 1)
    with FakeChatCompletionsServer([("sleep", 2.0), ("sleep", 2.0)]) as server:
        result = _vision(server, timeout=0.3, max_retries=1).recognize([image], [])[0]
    assert not result.ok and result.text == ""
    assert "attempts" in result.error


def test_vision_truncated_answer_keeps_text_and_flags_it():
    image = _page_image("debian-faq-de.pdf", 1)
    with FakeChatCompletionsServer([("ok", "Die Debian GNU/Linux FAQ ...", "length")]) as server:
        result = _vision(server).recognize([image], [])[0]
    assert result.text.startswith("Die Debian") and "truncated" in result.error


def test_vision_batch_runs_concurrently_and_isolates_a_failed_page():
    images = [_page_image("debian-faq-en.pdf", n) for n in (1, 2, 3, 4, 5, 6)]
    bad_prefix = "data:image/png;base64," + base64.b64encode(images[2].png).decode()[:200]
    with FakeChatCompletionsServer(fail_for={bad_prefix: 500}, delay=0.2) as server:
        results = _vision(server, max_concurrency=3, max_retries=1).recognize(images, ["eng"])
    assert [r.ok for r in results] == [True, True, False, True, True, True]
    assert all(isinstance(r, OcrResult) for r in results)
    assert 2 <= server.max_in_flight <= 3


@pytest.mark.skipif(not os.environ.get("VISION_OCR_BASE_URL"), reason="no real vision server (set VISION_OCR_*)")
def test_real_vision_server_reads_a_page():
    """Runs only where a real OpenAI-compatible vision server is reachable (e.g. vLLM serving Qwen2.5-VL)."""
    backend = VisionLlmOcr(
        os.environ["VISION_OCR_BASE_URL"], os.environ.get("VISION_OCR_MODEL", "Qwen/Qwen2.5-VL-7B-Instruct")
    )
    with pymupdf.open(SAMPLE / "debian-faq-ru.pdf") as doc:
        layer = doc[1].get_text()
        result = backend.recognize_page(doc[1], ["rus_Cyrl"])
    assert result.ok
    assert len(_grams(layer) & _grams(result.text)) / len(_grams(layer)) > 0.85


def test_vision_backend_in_extraction_gets_the_same_hint_and_records_it():
    """A scanned page of a PDF whose other pages have a Cyrillic text layer: the vision prompt names the script
    Tesseract would have been told, and the page's OCR decision says where the hint came from."""
    from curation.pdf import extract_pdf

    with (
        pymupdf.open(SAMPLE / "debian-faq-ru.pdf") as ru,
        pymupdf.open(SAMPLE / "scanned-faq-ru-maint-guide-ja.pdf") as scan,
    ):
        ru.insert_pdf(scan, from_page=0, to_page=0)  # page 12: a scanned page after 11 born-digital Russian ones
        data = ru.tobytes()
    with FakeChatCompletionsServer([("ok", "Глава 1")]) as server:
        ocr = {"backend": "vision", "base_url": server.base_url, "model": "Qwen/Qwen2.5-VL-7B-Instruct"}
        result = extract_pdf(data, ocr=ocr)
        (request,) = server.requests
    prompt = request["body"]["messages"][0]["content"][1]["text"]
    assert prompt.endswith("Expected language/script: Cyrl.")
    page = result.pages[-1]
    assert page.method == "ocr_vision" and page.text == "Глава 1"
    assert (page.ocr.source, page.ocr.script, page.ocr.langs) == ("hint", "Cyrl", "vision")

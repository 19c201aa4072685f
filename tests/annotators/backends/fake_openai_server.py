"""FAKE OpenAI-compatible server (stdlib ``http.server``) for faults a real server cannot be made to show on demand.

FAKE: it runs no model. It answers ``/v1/completions`` with fixed next-token log-probabilities and
``/v1/chat/completions`` with a fixed JSON answer, and misbehaves when the prompt (or the last chat message) contains
a marker:

* ``HANG``: sleeps ``hang_s`` seconds before answering (a stuck server → client timeout);
* ``FLAKY<n>``: answers 503 (with ``Retry-After: 0``) to the first ``n`` requests carrying that exact marker, then OK;
* ``THROTTLE``: answers 429 with ``Retry-After: 0`` every time;
* ``BAD400``: answers 400 (a request error, never retried);
* ``NOLOGPROBS``: answers 200 without logprobs;
* ``PROSE``: the chat answer is prose, not JSON (a server that ignored the schema).

The real-server behaviour (scores, chat templates, structured outputs) is tested against llama-cpp-python's server.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOP_LOGPROBS = {" A": -0.5, " B": -1.5, "0": -2.0, "1": -2.5, "2": -1.0, "3": -0.7, " C": -4.0}
CHAT_ANSWER = {"title": "fake", "points": 3}


class FakeOpenAIServer:
    """Start with ``with FakeOpenAIServer() as server:``; ``server.base_url`` ends in ``/v1``."""

    def __init__(self, hang_s: float = 5.0) -> None:
        self.hang_s = hang_s
        self.requests: Counter[str] = Counter()  # marker (or "plain") -> requests seen
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner._handle(self, body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _send(self, handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                handler.send_header(k, v)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout): nothing to answer
            pass

    def _handle(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        text = body.get("prompt") or (body.get("messages") or [{}])[-1].get("content", "")
        marker = re.search(r"HANG|FLAKY\d+|THROTTLE|BAD400|NOLOGPROBS|PROSE", text)
        key = marker.group(0) if marker else "plain"
        with self._lock:
            self.requests[key] += 1
            seen = self.requests[key]
        if key == "HANG":
            time.sleep(self.hang_s)
        elif key.startswith("FLAKY") and seen <= int(key[5:]):
            return self._send(handler, 503, {"error": "overloaded"}, {"Retry-After": "0"})
        elif key == "THROTTLE":
            return self._send(handler, 429, {"error": "rate limited"}, {"Retry-After": "0"})
        elif key == "BAD400":
            return self._send(handler, 400, {"error": "bad request"})
        if handler.path.endswith("/completions") and "messages" not in body:
            logprobs = None if key == "NOLOGPROBS" else {"tokens": [" A"], "top_logprobs": [TOP_LOGPROBS]}
            return self._send(handler, 200, {"choices": [{"text": " A", "logprobs": logprobs}]})
        content = "Sure! Here is my answer." if key == "PROSE" else json.dumps(CHAT_ANSWER)
        choice = {"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        return self._send(handler, 200, {"choices": [choice]})

"""The real OpenAI-compatible server for the HTTP backend tests: llama-cpp-python's, serving the bundled GGUF.

It lives in its own venv (it is a subprocess, as ``vllm serve`` would be); ``CURATION_LLAMA_SERVER_PYTHON`` names
that venv's python (``.ci/llama_server_venv.sh`` builds one and prints it). Without it the tests skip and say so.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ENV = "CURATION_LLAMA_SERVER_PYTHON"
ALIAS = "smollm2-135m-instruct"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def llama_server(
    n_ctx: int = 2048, threads: int = 1, startup_s: float = 180.0, port: int | None = None
) -> Iterator[str]:
    """Start the server on a free loopback port; yield its ``.../v1`` base URL; stop it afterwards."""
    import httpx

    from curation.model_store import resolve_model

    python = os.environ.get(ENV)
    if not python:
        pytest.skip(f"{ENV} is not set: no llama-cpp-python server to test against (build: .ci/llama_server_venv.sh)")
    if not Path(python).exists():
        pytest.fail(f"{ENV}={python} does not exist")
    gguf = resolve_model(ALIAS)
    port = port or _free_port()
    log = tempfile.NamedTemporaryFile("w+", prefix="llama-server-", suffix=".log", delete=False)
    cmd = [
        python, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", ALIAS,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads),
        "--n_threads_batch", str(threads), "--logits_all", "true",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"llama-cpp server exited with {proc.returncode}:\n{log.read()[-3000:]}")
            try:
                if httpx.get(f"{base_url}/models", timeout=2.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama-cpp server not up after {startup_s:.0f} s")
            time.sleep(0.5)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        os.unlink(log.name)

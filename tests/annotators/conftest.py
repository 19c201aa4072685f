"""The real SmolLM2-135M-Instruct backend, loaded once per test module.

One torch thread: on a small machine shared with other processes, intra-op threads that wait on a busy core make a
forward pass an order of magnitude slower; one thread keeps the model tests short. The global setting is restored.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="module")
def backend() -> Iterator[Any]:
    torch = pytest.importorskip("torch")  # the `llm` extra
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    from annotators.backends.transformers_local import TransformersBackend

    threads = torch.get_num_threads()
    backend = TransformersBackend("smollm2-135m-instruct", device="cpu", batch_size=8, torch_threads=1)
    backend.chat_prompt("", "load")  # loads the model here rather than inside the first test
    yield backend
    torch.set_num_threads(threads)

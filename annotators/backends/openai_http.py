"""OpenAI-compatible HTTP backend: the production path to ``vllm serve MODEL`` (any server that speaks the API).

Scoring: ``POST {base_url}/completions`` with the chat-rendered prompt, ``max_tokens=1`` and ``logprobs=k`` returns the
top-k log-probabilities of the *next* token, the token after the answer prefix. Prompt log-probabilities
(``echo=true``) are not used: llama-cpp-python's server reports them shifted by one position, and vLLM computes them
only on request at extra cost. A label outside the top k gets ``-inf`` (its true log-probability is below the k-th
one); a prompt whose top k holds none of the labels fails. vLLM caps k at its ``--max-logprobs`` (20 by default), so
tasks with more than 20 answer keys need the server started with a larger value.

Generation: ``POST {base_url}/chat/completions`` with a JSON schema (``response_format`` of type ``json_schema``, the
OpenAI form vLLM's structured outputs and llama.cpp's grammars accept; vLLM's own ``structured_outputs`` /
``guided_json`` bodies are available through ``structured_style``). The answer is parsed and checked against the
schema here too.

Sampling: ``POST {base_url}/chat/completions`` with ``n``, ``temperature``, ``top_p``, ``max_tokens``, ``stop`` and a
per-request ``seed`` (and the JSON schema when the recipe gives one). vLLM answers ``n`` choices at once; a server that
returns fewer (llama-cpp-python ignores ``n``) gets one more request per missing sample, with seeds ``seed+1, ...``,
so every backend returns exactly ``n`` samples.

Requests run concurrently on an asyncio event loop (httpx), at most ``concurrency`` in flight. Connection errors,
timeouts, HTTP 408/429 and 5xx are retried with exponential backoff and full jitter (``Retry-After`` honoured); any
other error status fails at once. A prompt that still fails becomes a ``BackendError`` in its own slot of the
result, so one bad request never fails its neighbours, and the task turns it into a ``status="failed"`` row.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from annotators.backends.base import (
    BackendError,
    ChatRequest,
    GenerationRequest,
    LabelLogprobs,
    LogprobBackend,
    Sample,
    SamplingParams,
    StructuredChatBackend,
    TextGenerationBackend,
)
from annotators.backends.chat_templates import render
from annotators.backends.json_schema import SchemaMismatch, check

STRUCTURED_STYLES = ("json_schema", "structured_outputs", "guided_json", "json_object")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits U(0, min(max_s, base_s * 2**n)) seconds."""

    max_retries: int = 4
    base_s: float = 0.5
    max_s: float = 20.0
    statuses: tuple[int, ...] = (408, 429, 500, 502, 503, 504)

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.base_s < 0 or self.max_s < 0:
            raise ValueError("retry settings must be >= 0")

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry ``attempt + 1``; a server's ``Retry-After`` is a floor, capped at ``max_s``."""
        jittered = rng.uniform(0.0, min(self.max_s, self.base_s * 2**attempt))
        if retry_after is not None:
            return min(self.max_s, max(retry_after, jittered))
        return jittered


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def next_token_top_logprobs(body: Mapping[str, Any]) -> dict[str, float]:
    """``{token text: logprob}`` of the first generated token of a legacy-completions response."""
    try:
        logprobs = body["choices"][0]["logprobs"]
    except (KeyError, IndexError, TypeError):
        raise BackendError(f"completions response has no choices[0].logprobs: {str(body)[:300]}") from None
    if not logprobs or not logprobs.get("top_logprobs"):
        raise BackendError("the server returned no top_logprobs (does it support `logprobs` on /completions?)")
    first = logprobs["top_logprobs"][0]
    if isinstance(first, list):  # some servers send [{"token": ..., "logprob": ...}, ...]
        first = {item["token"]: item["logprob"] for item in first}
    return {str(token): float(lp) for token, lp in first.items()}


class _Runtime:
    """One event loop + connection pool + in-flight limit, owned by one thread."""

    def __init__(self, backend: OpenAIHTTPBackend) -> None:
        import httpx

        self.loop = asyncio.new_event_loop()
        headers = {"Authorization": f"Bearer {backend.api_key}"} if backend.api_key else {}
        limits = httpx.Limits(max_connections=backend.concurrency, max_keepalive_connections=backend.concurrency)
        self.client = httpx.AsyncClient(
            base_url=backend.base_url, timeout=httpx.Timeout(backend.timeout_s), limits=limits, headers=headers
        )
        self.slots = asyncio.Semaphore(backend.concurrency)

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.client.aclose())
        finally:
            self.loop.close()


class OpenAIHTTPBackend(LogprobBackend, StructuredChatBackend, TextGenerationBackend):
    """Next-token label scoring, JSON-schema chat and sampled generation against an OpenAI-compatible server."""

    name = "openai-http"

    def __init__(
        self,
        base_url: str = "http://localhost:8000/v1",
        model: str = "default",
        chat_template: str = "chatml",
        concurrency: int = 8,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        top_logprobs: int = 20,
        api_key: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        structured_style: str = "json_schema",
        extra_body: Mapping[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        if concurrency < 1 or timeout_s <= 0 or top_logprobs < 1:
            raise ValueError("concurrency and top_logprobs must be >= 1 and timeout_s > 0")
        if structured_style not in STRUCTURED_STYLES:
            raise ValueError(f"structured_style {structured_style!r} not in {STRUCTURED_STYLES}")
        render(chat_template, "", "")  # an unknown template fails here, not on the first batch
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.chat_template = chat_template
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self.top_logprobs = top_logprobs
        self.api_key = api_key or (os.environ.get(api_key_env) if api_key_env else None)
        self.structured_style = structured_style
        self.extra_body = dict(extra_body or {})
        self.stats = {"requests": 0, "retries": 0, "failures": 0}
        self._rng = random.Random(seed)
        self._local = threading.local()
        self._runtimes: list[_Runtime] = []
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the configuration only (Beam ships backends to workers); each worker opens its own connections."""
        state = self.__dict__.copy()
        for key in ("_local", "_runtimes", "_lock", "_rng"):
            state.pop(key)
        state["api_key"] = None  # secrets are read from the environment on the worker, never pickled
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._rng = random.Random()
        self._local = threading.local()
        self._runtimes = []
        self._lock = threading.Lock()
        if self.api_key is None:
            self.api_key = os.environ.get("OPENAI_API_KEY")

    # ------------------------------------------------------------------------------------------------ plumbing

    def _runtime(self) -> _Runtime:
        runtime = getattr(self._local, "runtime", None)
        if runtime is None:
            runtime = self._local.runtime = _Runtime(self)
            with self._lock:
                self._runtimes.append(runtime)
        return runtime

    def close(self) -> None:
        with self._lock:
            runtimes, self._runtimes = self._runtimes, []
        for runtime in runtimes:
            runtime.close()
        self._local = threading.local()

    async def _post(self, runtime: _Runtime, path: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST JSON, retrying transient failures; ``BackendError`` once the retries are spent or on a hard error."""
        import httpx

        error = ""
        attempts = self.retry.max_retries + 1
        for attempt in range(attempts):
            retry_after = None
            async with runtime.slots:
                self.stats["requests"] += 1
                try:
                    response = await runtime.client.post(path, json=payload)
                except httpx.TimeoutException as exc:
                    error = f"timed out after {self.timeout_s:g} s ({type(exc).__name__})"
                except httpx.TransportError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                else:
                    if response.status_code < 400:
                        try:
                            return response.json()
                        except ValueError:
                            raise BackendError(f"{path}: response is not JSON: {response.text[:200]!r}") from None
                    error = f"HTTP {response.status_code}: {response.text[:300]}"
                    if response.status_code not in self.retry.statuses:
                        raise BackendError(f"{path}: {error}")
                    retry_after = _retry_after(response.headers.get("retry-after"))
            if attempt + 1 < attempts:
                self.stats["retries"] += 1
                await asyncio.sleep(self.retry.delay(attempt, retry_after, self._rng))
        raise BackendError(f"{path}: gave up after {attempts} attempts: {error}")

    async def _each(self, jobs: Sequence[Any]) -> list[Any]:
        """Run coroutines concurrently; an exception becomes a ``BackendError`` in its slot, never a lost item."""
        results = await asyncio.gather(*jobs, return_exceptions=True)
        out: list[Any] = []
        for result in results:
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result  # KeyboardInterrupt, CancelledError: not a per-document failure
                self.stats["failures"] += 1
                result = (
                    result if isinstance(result, BackendError) else BackendError(f"{type(result).__name__}: {result}")
                )
            out.append(result)
        return out

    # ------------------------------------------------------------------------------------------------- scoring

    def chat_prompt(self, system: str, user: str, assistant_prefix: str = "") -> str:
        return render(self.chat_template, system, user, assistant_prefix)

    async def _score(self, runtime: _Runtime, prompt: str, labels: Sequence[str]) -> LabelLogprobs:
        payload = {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": self.top_logprobs,
            **self.extra_body,
        }
        top = next_token_top_logprobs(await self._post(runtime, "/completions", payload))
        found = {label: top.get(label, -math.inf) for label in labels}
        if all(v == -math.inf for v in found.values()):
            best = sorted(top, key=top.__getitem__, reverse=True)[:5]
            raise BackendError(f"none of the labels is among the top {len(top)} next tokens (best: {best})")
        return found

    def label_logprobs(self, prompts: Sequence[str], labels: Sequence[str]) -> list[LabelLogprobs | BackendError]:
        if len(set(labels)) != len(labels) or not labels:
            raise ValueError(f"labels must be distinct and non-empty, got {list(labels)}")
        if not prompts:
            return []
        runtime = self._runtime()
        return runtime.run(self._each([self._score(runtime, p, labels) for p in prompts]))

    # ---------------------------------------------------------------------------------------------- generation

    def _structured(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        if self.structured_style == "json_schema":
            return {"response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}}
        if self.structured_style == "json_object":  # llama-cpp-python's older form
            return {"response_format": {"type": "json_object", "schema": schema}}
        if self.structured_style == "structured_outputs":  # vLLM >= 0.10
            return {"structured_outputs": {"json": schema}}
        return {"guided_json": schema}  # vLLM < 0.10

    async def _generate(self, runtime: _Runtime, request: ChatRequest, schema: Mapping[str, Any]) -> dict[str, Any]:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages.append({"role": "user", "content": request.user})
        payload = {
            "model": self.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": 0.0,
            **self._structured(schema),
            **self.extra_body,
        }
        body = await self._post(runtime, "/chat/completions", payload)
        try:
            choice = body["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise BackendError(f"chat response has no choices[0].message.content: {str(body)[:300]}") from None
        if choice.get("finish_reason") == "length":
            raise BackendError(f"answer cut at max_tokens={request.max_tokens}: {content[-80:]!r}")
        try:
            value = json.loads(content)
            check(value, schema)
        except (ValueError, SchemaMismatch) as exc:
            raise BackendError(f"answer does not match the schema: {exc}; got {content[:200]!r}") from None
        return value

    def chat_json(
        self, requests: Sequence[ChatRequest], schema: Mapping[str, Any]
    ) -> list[dict[str, Any] | BackendError]:
        if not requests:
            return []
        runtime = self._runtime()
        return runtime.run(self._each([self._generate(runtime, r, schema) for r in requests]))

    # ------------------------------------------------------------------------------------------------ sampling

    @property
    def supports_structured(self) -> bool:
        return True

    async def _sample(
        self,
        runtime: _Runtime,
        request: GenerationRequest,
        params: SamplingParams,
        json_schema: Mapping[str, Any] | None,
    ) -> list[Sample]:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages.append({"role": "user", "content": request.user})
        base: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            **({"stop": list(params.stop)} if params.stop else {}),
            **(self._structured(json_schema) if json_schema is not None else {}),
            **self.extra_body,
        }
        samples: list[Sample] = []
        extra = 0
        while len(samples) < params.n:
            want = params.n - len(samples)
            body = await self._post(runtime, "/chat/completions", {**base, "n": want, "seed": request.seed + extra})
            try:
                choices = body["choices"]
                got = [
                    Sample(str(c["message"]["content"] or ""), str(c.get("finish_reason") or "stop")) for c in choices
                ]
            except (KeyError, IndexError, TypeError):
                raise BackendError(f"chat response has no choices[].message.content: {str(body)[:300]}") from None
            if not got:
                raise BackendError("chat response has no choices")
            samples.extend(got[:want])
            extra += len(got[:want])
        return samples

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        params: SamplingParams,
        json_schema: Mapping[str, Any] | None = None,
    ) -> list[list[Sample] | BackendError]:
        if not requests:
            return []
        runtime = self._runtime()
        return runtime.run(self._each([self._sample(runtime, r, params, json_schema) for r in requests]))

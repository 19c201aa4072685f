"""Local ``transformers`` backend: label log-probabilities from one batched forward pass on CPU or GPU.

Loads a known model name (resolved by ``curation.model_store``, e.g. the bundled SmolLM2-135M-Instruct GGUF), a GGUF
file, or a Hugging Face model directory. Loading a GGUF through transformers de-quantises it in Python, which takes
~30 s for a 135M model; so the first load also writes the de-quantised float32 checkpoint next to the GGUF (an atomic
directory rename, safe with concurrent workers) and later loads take about a second.
"""

from __future__ import annotations

import inspect
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from annotators.backends.base import (
    BackendError,
    GenerationRequest,
    LogprobBackend,
    Sample,
    SamplingParams,
    TextGenerationBackend,
)
from curation.model_store import resolve_model

log = logging.getLogger(__name__)


def _checkpoint_dir(gguf: Path) -> Path:
    """Where the de-quantised copy of ``gguf`` lives; size + mtime in the name so a replaced GGUF is reconverted."""
    stat = gguf.stat()
    return gguf.with_name(f"{gguf.name}.{stat.st_size}-{stat.st_mtime_ns}.hf")


def _save_checkpoint(tokenizer: Any, lm: Any, dest: Path) -> None:
    """Write ``lm`` (float32) + tokenizer as a plain HF checkpoint at ``dest``; the first writer wins."""
    from transformers import AutoModelForCausalLM

    config = lm.config.to_dict()
    config.pop("quantization_config", None)  # GGUF-loaded models refuse save_pretrained; the weights are plain floats
    plain = AutoModelForCausalLM.from_config(type(lm.config).from_dict(config))
    plain.load_state_dict(lm.state_dict())
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.tmp-"))
    try:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        # mkdtemp makes a private (0700) directory; give the copy the cache directory's permissions instead, so a
        # cache shared by several users is read by all of them rather than reconverted by each.
        mode = dest.parent.stat().st_mode & 0o777
        for item in tmp.iterdir():
            item.chmod(mode & 0o666)
        tmp.chmod(mode)
        os.replace(tmp, dest)
    except OSError:
        if not (dest / "config.json").exists():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load_tokenizer_and_model(path: Path, dtype: Any) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if path.is_dir():
        return AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    if path.suffix != ".gguf":
        raise ValueError(f"model file {path} is not a .gguf; pass a GGUF file or a Hugging Face model directory")
    converted = _checkpoint_dir(path)
    if (converted / "config.json").exists():
        return _load_tokenizer_and_model(converted, dtype)
    import torch

    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    lm = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    try:
        _save_checkpoint(tokenizer, lm, converted)
    except Exception as exc:  # a read-only or full cache only costs speed on the next load
        log.warning("could not cache the de-quantised checkpoint of %s at %s: %s", path, converted, exc)
    return tokenizer, lm.to(dtype)


_LOAD_LOCK = threading.Lock()
_LOADED: dict[tuple[str, str, Any], tuple[Any, Any]] = {}


def _shared_model(path: str, device: str, dtype: Any) -> tuple[Any, Any]:
    """One loaded model per process and (model, device, dtype), loaded under a lock.

    Runners call ``DoFn.setup`` from several threads of one process (Dataflow's SDK harness, DirectRunner
    ``multi_threading``); transformers' loading is not thread-safe (concurrent loads fail with "Cannot copy out of
    meta tensor"), and one copy per thread would multiply the memory. Inference on the shared model is read-only.
    """
    key = (path, device, dtype)
    with _LOAD_LOCK:
        if key not in _LOADED:
            tokenizer, lm = _load_tokenizer_and_model(Path(path), dtype)
            lm.to(device).eval()
            _LOADED[key] = (tokenizer, lm)
        return _LOADED[key]


def resolve_device(device: str) -> str:
    """``auto`` → the first CUDA GPU when torch sees one, else the CPU; anything else is passed to torch as is."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class TransformersBackend(LogprobBackend, TextGenerationBackend):
    """Runs a causal LM in-process; batches prompts of similar length together, left-padded.

    Sampling (``generate``) runs the ``n`` samples of one request as one batch seeded by the request's seed, so a
    request gets the same samples whatever else is in the worker's batch.

    ``device`` is ``cpu``, ``cuda``/``cuda:N`` or ``auto``; on a GPU the weights run in bfloat16 (``dtype`` overrides:
    ``float32``, ``bfloat16``, ``float16``), on the CPU in float32.
    """

    name = "transformers"

    def __init__(
        self,
        model: str = "smollm2-135m-instruct",
        device: str = "cpu",
        batch_size: int = 8,
        max_prompt_tokens: int = 1024,
        torch_threads: int | None = None,
        dtype: str | None = None,
    ) -> None:
        if batch_size < 1 or max_prompt_tokens < 1:
            raise ValueError("batch_size and max_prompt_tokens must be >= 1")
        if dtype not in (None, "float32", "bfloat16", "float16"):
            raise ValueError(f"dtype {dtype!r}: one of float32, bfloat16, float16")
        self.model = model
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.max_prompt_tokens = max_prompt_tokens
        self.torch_threads = torch_threads
        self.truncated_prompts = 0  # prompts cut to their last max_prompt_tokens tokens (a metric for the pipeline)
        self._tokenizer: Any = None
        self._lm: Any = None
        self._keeps_last_logits_only = False

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the configuration only (Beam ships backends to workers); each worker loads its own model."""
        state = self.__dict__.copy()
        state.update(_tokenizer=None, _lm=None)
        return state

    def _load(self) -> None:
        if self._lm is not None:
            return
        import torch

        if self.torch_threads:
            torch.set_num_threads(self.torch_threads)
        self.device = resolve_device(self.device)
        if self.dtype:
            dtype = getattr(torch, self.dtype)
        else:
            dtype = torch.float32 if self.device == "cpu" else torch.bfloat16
        tokenizer, lm = _shared_model(str(resolve_model(self.model)), self.device, dtype)
        self._keeps_last_logits_only = "logits_to_keep" in inspect.signature(lm.forward).parameters
        self._tokenizer, self._lm = tokenizer, lm

    def chat_prompt(self, system: str, user: str, assistant_prefix: str = "") -> str:
        self._load()
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": user})
        if not self._tokenizer.chat_template:  # a base model: plain text, the prefix still ends the prompt
            return "\n\n".join([*([system] if system else []), user, assistant_prefix])
        rendered = self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return rendered + assistant_prefix

    def label_token_ids(self, labels: Sequence[str]) -> list[int]:
        """The single vocabulary id of each label; ``ValueError`` names any label that is not exactly one token."""
        self._load()
        ids: list[int] = []
        for label in labels:
            token_ids = self._tokenizer.encode(label, add_special_tokens=False)
            if len(token_ids) != 1:
                pieces = self._tokenizer.convert_ids_to_tokens(token_ids)
                raise ValueError(f"label {label!r} is {len(token_ids)} tokens {pieces} for {self.model}, not 1")
            ids.append(token_ids[0])
        if len(set(ids)) != len(ids):
            raise ValueError(f"labels {list(labels)} do not map to distinct tokens: {ids}")
        return ids

    def _encode(self, prompts: Sequence[str]) -> list[list[int]]:
        # The chat template already wrote every special token as text, so none are added here.
        encoded = self._tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
        out = []
        for ids in encoded:
            if len(ids) > self.max_prompt_tokens:
                ids = ids[-self.max_prompt_tokens :]
                self.truncated_prompts += 1
            out.append(ids)
        return out

    def _forward(self, batch: list[list[int]], label_ids: list[int]) -> list[list[float]]:
        """Log-probabilities of ``label_ids`` after the last real token of each (left-padded) sequence."""
        import torch

        width = max(len(ids) for ids in batch)
        pad_id = self._tokenizer.pad_token_id
        if pad_id is None:
            pad_id = self._tokenizer.eos_token_id or 0
        input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, ids in enumerate(batch):
            input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, width - len(ids) :] = 1
        # Positions count real tokens only, so a padded prompt sees exactly the positions it would see alone.
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        kwargs: dict[str, Any] = {"use_cache": False}
        if self._keeps_last_logits_only:
            kwargs["logits_to_keep"] = 1  # skip the vocabulary projection for every other position
        with torch.inference_mode():
            logits = self._lm(
                input_ids=input_ids.to(self.device),
                attention_mask=attention_mask.to(self.device),
                position_ids=position_ids.to(self.device),
                **kwargs,
            ).logits[:, -1, :]
            logprobs = torch.log_softmax(logits.float(), dim=-1)[:, label_ids]
        return logprobs.cpu().tolist()

    def label_logprobs(self, prompts: Sequence[str], labels: Sequence[str]) -> list[dict[str, float]]:
        if not prompts:
            return []
        label_ids = self.label_token_ids(labels)
        encoded = self._encode(prompts)
        if any(not ids for ids in encoded):
            raise ValueError("an empty prompt has no next-token distribution")
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))  # similar lengths → little padding
        results: list[dict[str, float]] = [{} for _ in encoded]
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            try:
                rows = self._forward([encoded[i] for i in chunk], label_ids)
            except RuntimeError as exc:  # e.g. out of memory: this call fails, the worker lives on
                raise BackendError(f"{self.name}/{self.model} forward failed: {exc}") from exc
            for i, row in zip(chunk, rows, strict=True):
                results[i] = dict(zip(labels, row, strict=True))
        return results

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        params: SamplingParams,
        json_schema: Mapping[str, Any] | None = None,
    ) -> list[list[Sample] | BackendError]:
        """Sampled chat completions; ``json_schema`` is not enforced here (the recipe's parser copes with prose)."""
        if not requests:
            return []
        self._load()
        out: list[list[Sample] | BackendError] = []
        for request in requests:
            prompt = self.chat_prompt(request.system, request.user)
            try:
                out.append(self._sample(prompt, request.seed, params))
            except RuntimeError as exc:  # out of memory and the like: this request fails, the worker lives on
                out.append(BackendError(f"{self.name}/{self.model} generate failed: {exc}"))
        return out

    def _sample(self, prompt: str, seed: int, params: SamplingParams) -> list[Sample]:
        import torch

        (ids,) = self._encode([prompt])
        input_ids = torch.tensor([ids], dtype=torch.long, device=self.device)
        eos = self._tokenizer.eos_token_id
        greedy = params.temperature == 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_tokens,
            "do_sample": not greedy,
            "num_return_sequences": params.n,
            "pad_token_id": self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else eos,
            "eos_token_id": eos,
        }
        if not greedy:
            kwargs.update(temperature=params.temperature, top_p=params.top_p, top_k=0)
        torch.manual_seed(seed)
        with torch.inference_mode():
            if greedy and params.n > 1:
                input_ids = input_ids.expand(params.n, -1)
                kwargs["num_return_sequences"] = 1
            generated = self._lm.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), **kwargs)
        samples = []
        for row in generated[:, input_ids.shape[1] :].tolist():
            ended = eos in row
            if ended:
                row = row[: row.index(eos)]
            text = self._tokenizer.decode(row, skip_special_tokens=True)
            finish = "stop" if ended else "length"
            for stop in params.stop:
                cut = text.find(stop)
                if cut >= 0:
                    text, finish = text[:cut], "stop"
            samples.append(Sample(text, finish))
        return samples

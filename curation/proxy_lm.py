"""A small byte-level causal language model: the proxy the mixture ablation trains once per candidate recipe.

Bytes, not Qwen tokens: a 256-symbol vocabulary keeps the proxy tiny (a 151k-row embedding would dwarf a model of a
few layers) and makes losses comparable across languages and scripts (bits per byte). Everything is seeded (weights,
the order of training windows), so a proxy run is reproducible on CPU; sizes and steps come from config presets
(``mix.ablation.presets``): tiny for tests on CPU, larger for a GPU.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

VOCAB = 256
SEPARATOR = b"\n\n"


@dataclass(frozen=True)
class ProxyConfig:
    d_model: int = 32
    n_layers: int = 1
    n_heads: int = 2
    context: int = 64
    batch_size: int = 16
    steps: int = 40
    lr: float = 3e-3
    torch_threads: int = 1

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any]) -> ProxyConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(cfg) - known
        if unknown:
            raise ValueError(f"proxy config: unknown key(s) {sorted(unknown)}; known {sorted(known)}")
        return cls(**cfg)


def corpus_bytes(texts: Sequence[str]) -> np.ndarray:
    return np.frombuffer(SEPARATOR.join(t.encode("utf-8") for t in texts), dtype=np.uint8)


def _model(cfg: ProxyConfig):
    import torch
    from torch import nn

    class TinyGPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(VOCAB, cfg.d_model)
            self.pos = nn.Embedding(cfg.context, cfg.d_model)
            layer = nn.TransformerEncoderLayer(
                cfg.d_model, cfg.n_heads, 4 * cfg.d_model, dropout=0.0, batch_first=True, norm_first=True
            )
            self.blocks = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(cfg.d_model)
            self.head = nn.Linear(cfg.d_model, VOCAB)
            mask = torch.triu(torch.full((cfg.context, cfg.context), float("-inf")), diagonal=1)
            self.register_buffer("mask", mask, persistent=False)

        def forward(self, x):
            n = x.shape[1]
            h = self.embed(x) + self.pos(torch.arange(n, device=x.device))
            h = self.blocks(h, mask=self.mask[:n, :n], is_causal=True)
            return self.head(self.norm(h))

    return TinyGPT()


@dataclass
class ProxyResult:
    losses: dict[str, float]  # bits per byte per target set
    train_loss: float
    seconds: float
    parameters: int


def _windows(data: np.ndarray, context: int, rng: np.random.Generator, n: int) -> np.ndarray:
    if len(data) < context + 2:
        data = np.resize(data, context + 2)
    starts = rng.integers(0, len(data) - context - 1, size=n)
    return np.stack([data[s : s + context + 1] for s in starts])


def train_and_evaluate(
    train_texts: Sequence[str],
    targets: Mapping[str, bytes],
    cfg: ProxyConfig,
    seed: int = 0,
    device: str = "cpu",
) -> ProxyResult:
    """Train a fresh proxy on ``train_texts`` for ``cfg.steps`` steps; bits per byte on each target set."""
    import torch
    import torch.nn.functional as F

    if not train_texts:
        raise ValueError("a proxy needs training text (the candidate's shard is empty)")
    t0 = time.perf_counter()
    torch.set_num_threads(cfg.torch_threads)
    torch.manual_seed(seed)
    model = _model(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.01)
    warmup = max(1, cfg.steps // 10)

    def schedule(step: int) -> float:  # linear warm-up, then cosine decay to 10%
        if step < warmup:
            return (step + 1) / warmup
        return 0.1 + 0.45 * (1 + math.cos(math.pi * (step - warmup) / max(1, cfg.steps - warmup)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    data = corpus_bytes(train_texts)
    rng = np.random.default_rng(seed)
    model.train()
    loss_value = math.nan
    for _ in range(cfg.steps):
        batch = torch.from_numpy(_windows(data, cfg.context, rng, cfg.batch_size).astype(np.int64)).to(device)
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        loss_value = loss.item()
    losses = {name: evaluate(model, data_bytes, cfg, device) for name, data_bytes in sorted(targets.items())}
    n_params = sum(p.numel() for p in model.parameters())
    return ProxyResult(losses, loss_value / math.log(2), time.perf_counter() - t0, n_params)


def evaluate(model, data: bytes, cfg: ProxyConfig, device: str = "cpu") -> float:
    """Bits per byte over consecutive non-overlapping windows of ``data`` (deterministic)."""
    import torch
    import torch.nn.functional as F

    arr = np.frombuffer(data, dtype=np.uint8)
    n = max(1, (len(arr) - 1) // cfg.context)
    if len(arr) < cfg.context + 1:
        arr = np.resize(arr, cfg.context + 1)
    windows = np.stack([arr[i * cfg.context : i * cfg.context + cfg.context + 1] for i in range(n)])
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, n, 64):
            batch = torch.from_numpy(windows[i : i + 64].astype(np.int64)).to(device)
            logits = model(batch[:, :-1])
            total += float(F.cross_entropy(logits.reshape(-1, VOCAB), batch[:, 1:].reshape(-1), reduction="sum"))
            count += batch[:, 1:].numel()
    model.train()
    return total / count / math.log(2)

"""The local transformers backend on the real SmolLM2-135M-Instruct: label log-probabilities, batching, chat prompts."""

from __future__ import annotations

import math
import pickle

import pytest

from annotators.backends.base import LogprobBackend
from annotators.backends.transformers_local import TransformersBackend
from tests.annotators.texts import faq_section

DIGITS = ["0", "1", "2", "3", "4", "5"]
SYSTEM = "You judge how useful a text is for teaching."
PREFIX = "Score: "


@pytest.fixture(scope="module")
def prompts(backend) -> list[str]:
    """Three chat prompts around FAQ excerpts of clearly different token lengths."""
    bodies = [faq_section("what is Linux?!", n) for n in (40, 250, 700)]
    return [backend.chat_prompt(SYSTEM, f"Rate this text from 0 to 5:\n{body}", PREFIX) for body in bodies]


@pytest.fixture(scope="module")
def batched(backend, prompts) -> list[dict[str, float]]:
    """The three prompts scored in one call (one left-padded batch)."""
    assert backend.batch_size >= len(prompts)
    return backend.label_logprobs(prompts, DIGITS)


@pytest.fixture(scope="module")
def alone(backend, prompts) -> list[dict[str, float]]:
    """Each prompt scored in a call of its own (no padding)."""
    return [backend.label_logprobs([prompt], DIGITS)[0] for prompt in prompts]


@pytest.mark.slow
def test_label_logprobs_are_one_log_distribution_per_prompt(backend, prompts, batched):
    assert isinstance(backend, LogprobBackend)
    assert len(batched) == len(prompts)
    for logprobs in batched:
        assert list(logprobs) == DIGITS
        assert all(math.isfinite(v) and v <= 0.0 for v in logprobs.values())
        assert 0.0 < sum(math.exp(v) for v in logprobs.values()) <= 1.0 + 1e-6


@pytest.mark.slow
def test_a_prompt_scores_the_same_alone_and_left_padded_in_a_batch(backend, prompts, batched, alone):
    lengths = [len(ids) for ids in backend._encode(prompts)]
    assert len(set(lengths)) == len(lengths)  # every row of the batch but the longest one is padded
    for together, single in zip(batched, alone, strict=True):
        assert together == pytest.approx(single, abs=1e-3)


@pytest.mark.slow
def test_results_follow_input_order_not_the_length_order_used_for_batching(backend, prompts, batched):
    backward = backend.label_logprobs(prompts[::-1], DIGITS)
    for a, b in zip(batched, backward[::-1], strict=True):
        assert a == pytest.approx(b, abs=1e-3)
    assert batched[0] != pytest.approx(batched[2], abs=1e-3)  # the prompts really are scored differently


@pytest.mark.slow
def test_several_batches_give_the_same_scores_as_one(backend, prompts, batched, monkeypatch):
    monkeypatch.setattr(backend, "batch_size", 2)
    split = backend.label_logprobs(prompts, DIGITS)
    for a, b in zip(batched, split, strict=True):
        assert a == pytest.approx(b, abs=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("bad", ["10", " 3", "", "unusable"])
def test_a_label_that_is_not_exactly_one_token_is_rejected(backend, prompts, bad):
    assert len(backend._tokenizer.encode(bad, add_special_tokens=False)) != 1  # the premise, on this tokenizer
    with pytest.raises(ValueError, match="label"):
        backend.label_logprobs(prompts[:1], [*DIGITS, bad])


@pytest.mark.slow
def test_labels_must_map_to_distinct_tokens(backend, prompts):
    with pytest.raises(ValueError, match="distinct"):
        backend.label_logprobs(prompts[:1], ["1", "2", "1"])


@pytest.mark.slow
def test_empty_inputs(backend):
    assert backend.label_logprobs([], DIGITS) == []
    with pytest.raises(ValueError, match="empty prompt"):
        backend.label_logprobs([""], DIGITS)


@pytest.mark.slow
def test_chat_prompt_renders_the_models_chat_template_and_ends_with_the_prefix(backend):
    tok = backend._tokenizer
    assert "<|im_start|>" in tok.chat_template  # SmolLM2-Instruct speaks ChatML
    prompt = backend.chat_prompt(SYSTEM, "What is a kernel?", PREFIX)
    assert prompt.endswith("<|im_start|>assistant\n" + PREFIX)
    system_at = prompt.index(f"<|im_start|>system\n{SYSTEM}<|im_end|>")
    user_at = prompt.index("<|im_start|>user\nWhat is a kernel?<|im_end|>")
    assert system_at < user_at < prompt.rindex("<|im_start|>assistant\n")
    # The markers written as text are read back as the single special tokens the model was trained on.
    ids = backend._encode([prompt])[0]
    assert ids.count(tok.convert_tokens_to_ids("<|im_start|>")) == 3
    # The prefix ends in the same lone-space token that starts " 3", so a bare digit is the natural next token.
    assert ids[-1] == tok.encode(" 3", add_special_tokens=False)[0]


@pytest.mark.slow
def test_chat_prompt_without_system_text_keeps_the_templates_default(backend):
    prompt = backend.chat_prompt("", "hi", PREFIX)
    assert prompt.startswith("<|im_start|>system\n")
    assert prompt.count("<|im_start|>user\nhi<|im_end|>") == 1
    assert prompt.endswith("<|im_start|>assistant\n" + PREFIX)


@pytest.mark.slow
def test_a_too_long_prompt_keeps_its_last_tokens(backend, prompts, alone, monkeypatch):
    short = prompts[0]
    n_tokens = len(backend._encode([short])[0])
    long = prompts[2] + "\n" + short  # the special token that starts `short` fixes the token boundary
    assert len(backend._encode([long])[0]) > n_tokens
    monkeypatch.setattr(backend, "max_prompt_tokens", n_tokens)
    before = backend.truncated_prompts
    (cut,) = backend.label_logprobs([long], DIGITS)
    assert backend.truncated_prompts == before + 1
    assert cut == pytest.approx(alone[0], abs=1e-3)


@pytest.mark.slow
def test_pickling_ships_the_configuration_not_the_model(backend):
    data = pickle.dumps(backend)
    assert len(data) < 10_000
    copy = pickle.loads(data)
    config = ("model", "device", "batch_size", "max_prompt_tokens", "torch_threads")
    assert [getattr(copy, k) for k in config] == [getattr(backend, k) for k in config]
    assert copy._lm is None and backend._lm is not None


def test_invalid_configuration_is_rejected_before_loading():
    with pytest.raises(ValueError):
        TransformersBackend(batch_size=0)
    with pytest.raises(ValueError):
        TransformersBackend(max_prompt_tokens=0)

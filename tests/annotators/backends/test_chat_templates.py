"""Client-side chat templates (what an HTTP backend sends to /v1/completions)."""

from __future__ import annotations

import pytest

from annotators.backends.chat_templates import TEMPLATES, render


def test_chatml_opens_the_assistant_turn_with_the_prefix():
    prompt = render("chatml", "sys", "question", "Answer:")
    assert prompt == (
        "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nquestion<|im_end|>\n<|im_start|>assistant\nAnswer:"
    )
    assert not render("chatml", "", "q").startswith("<|im_start|>system")


def test_llama3_and_plain_end_with_the_prefix():
    assert render("llama3", "s", "u", "P").endswith("<|start_header_id|>assistant<|end_header_id|>\n\nP")
    assert render("plain", "s", "u", "P") == "s\n\nu\n\nP"


def test_unknown_template_is_an_error():
    with pytest.raises(ValueError, match="unknown chat template"):
        render("mistral", "s", "u")
    assert set(TEMPLATES) == {"chatml", "llama3", "plain"}


@pytest.mark.slow
@pytest.mark.parametrize("system", ["You rate texts.", "Two\nlines of system text."])
def test_chatml_is_what_the_smollm2_tokenizer_renders(backend, system):
    for user, prefix in [("Rate this: hello", "Score: "), ("A\nB", "Answer:"), ("x", "")]:
        assert render("chatml", system, user, prefix) == backend.chat_prompt(system, user, prefix)

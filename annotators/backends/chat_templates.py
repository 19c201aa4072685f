"""Chat templates rendered on the client, so a plain ``/v1/completions`` call can score the very next token.

A completions endpoint sees raw text: the prompt must already carry the model's chat markup and end inside the
assistant turn (``... assistant\\nEducational score: ``). The local backend renders the tokenizer's own template; an
HTTP backend has no tokenizer, so it renders one of these by name. ``chatml`` is the template of the Qwen2/Qwen3 and
SmolLM2 families (the teachers this project serves); ``llama3`` that of Llama 3; ``plain`` is for base models.
"""

from __future__ import annotations

from collections.abc import Callable


def chatml(system: str, user: str, assistant_prefix: str = "") -> str:
    turns = [("system", system)] if system else []
    turns.append(("user", user))
    body = "".join(f"<|im_start|>{role}\n{text}<|im_end|>\n" for role, text in turns)
    return f"{body}<|im_start|>assistant\n{assistant_prefix}"


def llama3(system: str, user: str, assistant_prefix: str = "") -> str:
    turns = [("system", system)] if system else []
    turns.append(("user", user))
    body = "".join(f"<|start_header_id|>{role}<|end_header_id|>\n\n{text}<|eot_id|>" for role, text in turns)
    return f"<|begin_of_text|>{body}<|start_header_id|>assistant<|end_header_id|>\n\n{assistant_prefix}"


def plain(system: str, user: str, assistant_prefix: str = "") -> str:
    """No markup (a base model): the parts one after the other, the answer prefix last."""
    return "\n\n".join([*([system] if system else []), user, assistant_prefix])


TEMPLATES: dict[str, Callable[[str, str, str], str]] = {"chatml": chatml, "llama3": llama3, "plain": plain}


def render(template: str, system: str, user: str, assistant_prefix: str = "") -> str:
    """``system`` + ``user`` in the named template, ending with the assistant turn opened and ``assistant_prefix``."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown chat template {template!r}; known: {sorted(TEMPLATES)}")
    return TEMPLATES[template](system, user, assistant_prefix)

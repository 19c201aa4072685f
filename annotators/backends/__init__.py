"""Inference backends that return next-token log-probabilities over label tokens.

Concrete backends are imported from their own modules (``annotators.backends.transformers_local``,
``annotators.backends.openai_http``) so that torch or httpx are only imported by the workers that use them.
"""

from annotators.backends.base import (
    BackendError,
    ChatRequest,
    GenerationRequest,
    LogprobBackend,
    Sample,
    SamplingParams,
    StructuredChatBackend,
    TextGenerationBackend,
)

__all__ = [
    "BackendError",
    "ChatRequest",
    "GenerationRequest",
    "LogprobBackend",
    "Sample",
    "SamplingParams",
    "StructuredChatBackend",
    "TextGenerationBackend",
]

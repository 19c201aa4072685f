"""Inference backends that return next-token log-probabilities over label tokens.

Concrete backends are imported from their own modules (``annotators.backends.transformers_local``) so that torch is
only imported by the workers that use it.
"""

from annotators.backends.base import BackendError, LogprobBackend

__all__ = ["BackendError", "LogprobBackend"]

"""Student classifiers (fastText) distilled from teacher labels; bundled students live in ``bundled/``."""

"""LLM annotators: inference backends (``annotators.backends``) and labelling tasks (``annotators.tasks``).

Kept import-free so that importing a task or a schema-only helper never pulls in torch or transformers.
"""

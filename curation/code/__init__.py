"""Source code as a corpus of its own (The Stack v2 / StarCoder2 style): language identification, code filters,
secret and PII redaction, licence detection. Pure functions and small classes; the Beam steps are in
pipelines/code_steps.py."""

"""Schema version shared by every record type: major on an incompatible change, minor on added optional columns.

1.1.0: SynthRecord; optional ShardRow columns recipe_id, domain, safety_score, dedup_cluster_size, weight, token_ids,
provenance.
"""

SCHEMA_VERSION = "1.1.0"

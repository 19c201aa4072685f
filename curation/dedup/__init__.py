"""Deduplication cores: shingling per script, vectorised shingle hashing and MinHash signatures, LSH banding,
star-contraction connected components and keeper policies. Pure functions over plain records and numpy batches; the
Beam wiring lives in ``pipelines.dedup``."""

"""Deduplication cores: shingling, MinHash signatures and LSH banding, star-contraction connected components and
keeper policies. Pure functions over plain records; the Beam wiring lives in ``pipelines.dedup``."""

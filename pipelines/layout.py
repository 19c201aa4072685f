"""Where each output lives under the run's output root (the layout the README documents)."""

from __future__ import annotations

import os.path
import posixpath

from apache_beam.io.filesystems import FileSystems

STAGES = ("S1", "S2", "S3")


def matched_files(pattern: str) -> list:
    """Metadata of the files matching a glob on any Beam filesystem; none when even its directory does not exist."""
    try:
        return list(FileSystems.match([pattern])[0].metadata_list)
    except Exception:  # a missing directory (no such output yet)
        return []


def has_files(pattern: str) -> bool:
    return bool(matched_files(pattern))


def _normalized(path: str) -> tuple[str, str, str]:
    """(scheme, normalised path, separator): ``..`` and ``.`` segments resolved, for local paths and URLs alike."""
    if "://" in path:
        scheme, rest = path.split("://", 1)
        return scheme, posixpath.normpath("/" + rest), "/"  # a leading / so that .. cannot climb above the bucket
    return "", os.path.normpath(os.path.abspath(path)), os.sep


def under_root(out: str, path: str) -> str:
    """``path`` when it lies under the output root ``out``; ValueError when it would leave it (a name from the
    config such as ``../../x`` joined into an output path). Defence in depth: the config already refuses such names."""
    root_scheme, root, sep = _normalized(out)
    scheme, norm, _ = _normalized(path)
    prefix = root if root.endswith(sep) else root + sep
    if scheme != root_scheme or not (norm == root or norm.startswith(prefix)):
        raise ValueError(f"output path {path!r} leaves the output root {out!r}")
    return path


def _join(root: str, *parts: str) -> str:
    return under_root(root, FileSystems.join(root.rstrip("/"), *parts))


def curated_dir(out: str) -> str:
    return _join(out, "curated")


def documents_prefix(out: str) -> str:
    return _join(out, "curated", "documents")


def rejections_prefix(out: str) -> str:
    return _join(out, "curated", "rejections")


def duplicates_prefix(out: str) -> str:
    return _join(out, "curated", "duplicates")


def dedup_dir(out: str) -> str:
    return _join(out, "dedup")


def dedup_index_prefix(out: str) -> str:
    """Signatures + exact hashes of a run's kept documents: what a later incremental run dedups against."""
    return _join(out, "dedup", "index")


def dedup_ids_prefix(out: str) -> str:
    """Ids each local batch took in (``pipelines.local_batches``), read by the batches after it; removed at the end."""
    return _join(out, "dedup", "ids")


def dedup_documents_prefix(out: str) -> str:
    """Kept documents of a standalone ``python -m pipelines.dedup run`` job."""
    return _join(out, "dedup", "documents")


def dedup_duplicates_prefix(out: str) -> str:
    return _join(out, "dedup", "duplicates")


def annotations_prefix(out: str, task: str) -> str:
    return _join(out, "annotations", task)


def shards_dir(out: str) -> str:
    """Stage shards live under ``<shards_dir>/<stage>/part-SSSSS-PPP.parquet`` with ``<stage>/manifest.json``."""
    return _join(out, "shards")


def shard_prefix(out: str, stage: str) -> str:
    return _join(out, "shards", stage, "part")


def stage_manifest_path(out: str, stage: str) -> str:
    return _join(out, "shards", stage, "manifest.json")


def ablation_dir(out: str) -> str:
    return _join(out, "ablation")


def counts_path(out: str, pipeline: str) -> str:
    return _join(out, "counts", f"{pipeline}.jsonl")


def manifest_path(out: str) -> str:
    return _join(out, "manifest.json")


def report_path(out: str) -> str:
    return _join(out, "report.html")


def pattern(prefix: str) -> str:
    return prefix + "-*.parquet"

"""Code-point tables built once per machine instead of once per process.

LID's noise table, the script table and the word regexes each take one Python pass over the Unicode code points
(~0.35 CPU-s together). A worker process builds them in every local batch, so a long local run paid for them dozens of
times. They are stored as ``.npz`` (no pickle) under ``$FACTORY_CACHE_DIR/tables`` (default
``~/.cache/curation-factory/tables``), named by a hash of everything they depend on: the table's name, Python's
Unicode database version and the source of the modules that define them. A table that cannot be read is built
again; a cache directory that cannot be written only costs the build.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np


def table_dir() -> Path:
    return Path(os.environ.get("FACTORY_CACHE_DIR") or Path.home() / ".cache" / "curation-factory") / "tables"


def table_key(name: str, sources: Iterable[str]) -> str:
    """Hash of the table's name, the Unicode and Python versions and the files (module sources, data) it is built
    from."""
    versions = f"{name}\0{unicodedata.unidata_version}\0{sys.version_info[:2]}\0{np.__version__}"
    digest = hashlib.sha256(versions.encode())
    for path in sources:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:20]


def cached_arrays(
    name: str, sources: Iterable[str], build: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """``build()``'s arrays, read from the cache when a build with the same inputs is stored there."""
    path = table_dir() / f"{name}-{table_key(name, sources)}.npz"
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {k: stored[k] for k in stored.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):  # absent, cut or unreadable: build it
        pass
    arrays = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as tmp:
            np.savez(tmp, **arrays)
        os.replace(tmp.name, path)  # atomic: a concurrent worker reads the old state or the whole table
    except OSError:
        pass
    return arrays

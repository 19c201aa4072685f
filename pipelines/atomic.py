"""Atomic writes for the files our code writes itself (Beam's file sinks already write to ``beam-temp-*`` and rename
in finalize), and the sweep that removes what a killed writer left behind.

A reader (a trainer, a resumed run, the stage markers) must see a whole file or none: ``write_atomic`` writes to a
temporary name in the same directory and renames it into place (on object stores rename is copy + delete; the
object appears whole). The temporary name starts with a dot and ends in ``.tmp-<uuid>``: unique per writer (a
retried bundle or a second worker never collides), and never matched by a stage's output globs
(``pipelines.stages.STAGE_OUTPUTS``: ``*.parquet``, ``manifest.json`` ...), so a leftover is never taken for output.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.localfilesystem import LocalFileSystem

from pipelines.layout import matched_files

log = logging.getLogger(__name__)

TEMP_TAG = ".tmp-"
BEAM_TEMP = "beam-temp-"


def temp_path(path: str) -> str:
    """``dir/.name.tmp-<uuid>``: the temporary name ``write_atomic`` uses for ``dir/name``."""
    head, name = FileSystems.split(path)
    tmp = f".{name}{TEMP_TAG}{uuid.uuid4().hex}"
    return FileSystems.join(head, tmp) if head else tmp


def is_temp_name(name: str) -> bool:
    """A file name ``write_atomic`` uses while writing (``.name.tmp-<uuid>``)."""
    return name.startswith(".") and TEMP_TAG in name


def temp_glob(output_glob: str) -> str:
    """The temporary files of the outputs an output glob matches: ``shards/*/*.parquet`` →
    ``shards/*/.*.parquet.tmp-*`` (what ``clear_stage`` removes with the outputs)."""
    head, _, tail = output_glob.rpartition("/")
    return f"{head}/.{tail}{TEMP_TAG}*" if head else f".{tail}{TEMP_TAG}*"


def is_local(path: str) -> bool:
    return isinstance(FileSystems.get_filesystem(path), LocalFileSystem)


def write_atomic(path: str, data: bytes) -> str:
    """Write ``data`` to ``path`` whole or not at all: a unique temporary name, then a rename into place."""
    tmp = temp_path(path)
    try:
        with FileSystems.create(tmp, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            f.write(data)
        FileSystems.rename([tmp], [path])
    except BaseException:
        try:
            if FileSystems.exists(tmp):
                FileSystems.delete([tmp])
        except Exception as err:  # the original error matters more; the sweep removes the file later
            log.debug("could not remove %s: %s", tmp, err)
        raise
    return path


def remove_temp_dirs(out: str) -> int:
    """Remove the ``beam-temp-*`` directories under a local output root (object stores have no directories: deleting
    the files, as ``clear_stage`` does, is enough). Returns how many were removed."""
    if not is_local(out) or not os.path.isdir(out):
        return 0
    removed = 0
    for dirpath, dirnames, _ in os.walk(out):
        for name in [d for d in dirnames if d.startswith(BEAM_TEMP)]:
            shutil.rmtree(os.path.join(dirpath, name), ignore_errors=True)
            dirnames.remove(name)
            removed += 1
    return removed


def sweep_temp(out: str, keep: tuple[str, ...] = ()) -> int:
    """Delete every temporary file (``.*.tmp-*``, ``beam-temp-*``) under ``out``: leftovers of a killed run. Only
    safe while holding the output lock (``pipelines.lock``): then no other writer is at work. ``keep``: name prefixes
    to spare (the lock's own heartbeat file). Returns the number of files and directories removed."""
    if is_local(out):
        if not os.path.isdir(out):
            return 0
        stale = []
        for dirpath, dirnames, files in os.walk(out):
            dirnames[:] = [d for d in dirnames if not d.startswith(BEAM_TEMP)]
            stale += [os.path.join(dirpath, n) for n in files if is_temp_name(n) and not n.startswith(keep)]
        for path in stale:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
        return len(stale) + remove_temp_dirs(out)
    root = out.rstrip("/") + "/"
    stale = []
    for m in matched_files(root + "**"):
        rel = m.path[len(root) :]
        name = rel.rsplit("/", 1)[-1]
        in_beam_temp = any(part.startswith(BEAM_TEMP) for part in rel.split("/")[:-1])
        if in_beam_temp or (is_temp_name(name) and not name.startswith(keep)):
            stale.append(m.path)
    if stale:
        FileSystems.delete(stale)
    return len(stale)


__all__ = [
    "BEAM_TEMP",
    "TEMP_TAG",
    "is_temp_name",
    "remove_temp_dirs",
    "sweep_temp",
    "temp_glob",
    "temp_path",
    "write_atomic",
]

"""FAKE remote filesystem for tests: ``testfs://bucket/key`` objects, stored under a local directory.

FAKE: no real object store is reachable offline (gs:// and s3:// need network and credentials), so this Beam
``FileSystem`` stands in for one. It behaves like an object store where it matters to the pipelines: paths are URLs
joined with ``/``, there are no directories (``has_dirs`` is False), and any code that used ``open()`` or ``os.path``
on a data path would look for a local file literally named ``testfs:/...`` and fail (or write one into the working
directory, which the tests check for). Optional ``quota_bytes`` makes writes fail with ENOSPC once the store holds
that many bytes: a disk-full fault where a real small disk cannot be mounted (not root).

Registration is per process (Beam finds FileSystem subclasses by import), so the pipelines that use it run on an
in-process runner: PortableRunner with ``--environment_type=LOOPBACK``. Configure with ``configure(root, quota)``.
"""

from __future__ import annotations

import errno
import io
import os
import shutil
from pathlib import Path

from apache_beam.io.filesystem import BeamIOError, CompressedFile, CompressionTypes, FileMetadata, FileSystem

SCHEME = "testfs"
PREFIX = f"{SCHEME}://"
_STATE: dict[str, object] = {"root": None, "quota": None}


def configure(root: str | Path, quota_bytes: int | None = None) -> None:
    Path(root).mkdir(parents=True, exist_ok=True)
    _STATE["root"] = str(root)
    _STATE["quota"] = quota_bytes


def local_path(url: str) -> Path:
    """Where the object ``testfs://...`` is stored (for assertions)."""
    if not url.startswith(PREFIX):
        raise ValueError(f"not a {PREFIX} URL: {url!r}")
    if _STATE["root"] is None:
        raise RuntimeError("testfs.configure(root) was not called")
    return Path(str(_STATE["root"]), url[len(PREFIX) :])


def _url(local: str) -> str:
    return PREFIX + os.path.relpath(local, str(_STATE["root"])).replace(os.sep, "/")


def _used_bytes() -> int:
    return sum(p.stat().st_size for p in Path(str(_STATE["root"])).rglob("*") if p.is_file())


class _QuotaWriter(io.RawIOBase):
    """A write channel that raises ENOSPC when the store would exceed its quota (partial bytes stay, as on a disk)."""

    def __init__(self, raw, quota: int):
        self.raw = raw
        self.budget = quota - _used_bytes()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        n = len(data)
        if n > self.budget:
            self.raw.write(bytes(data[: max(self.budget, 0)]))
            self.budget = 0
            raise OSError(errno.ENOSPC, "No space left on device (testfs quota)")
        self.budget -= n
        return self.raw.write(data)

    def close(self) -> None:
        self.raw.close()
        super().close()


class TestFileSystem(FileSystem):
    """FAKE object store ``testfs://`` (see the module docstring)."""

    __test__ = False  # not a pytest test class

    @classmethod
    def scheme(cls) -> str:
        return SCHEME

    def join(self, basepath: str, *paths: str) -> str:
        return "/".join([basepath.rstrip("/"), *(p.strip("/") for p in paths)])

    def split(self, path: str) -> tuple[str, str]:
        head, _, tail = path.rpartition("/")
        return head, tail

    def has_dirs(self) -> bool:
        return False

    def mkdirs(self, path: str) -> None:
        pass  # object stores have no directories

    def _list(self, dir_or_prefix: str):
        base = local_path(dir_or_prefix)
        root = base if base.is_dir() else base.parent
        if not root.exists():
            return
        for dirpath, _, files in os.walk(root):
            for name in files:
                full = os.path.join(dirpath, name)
                url = _url(full)
                if url.startswith(dir_or_prefix):
                    yield FileMetadata(url, os.path.getsize(full), os.path.getmtime(full))

    def _open(self, url: str, mode: str, compression_type: str):
        path = local_path(url)
        if "w" in mode:
            path.parent.mkdir(parents=True, exist_ok=True)
        raw = open(path, mode)
        if "w" in mode and _STATE["quota"] is not None:
            raw = io.BufferedWriter(_QuotaWriter(raw, int(_STATE["quota"])))
        compression_type = FileSystem._get_compression_type(url, compression_type)
        if compression_type == CompressionTypes.UNCOMPRESSED:
            return raw
        return CompressedFile(raw, compression_type=compression_type)

    def create(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        return self._open(path, "wb", compression_type)

    def open(self, path, mime_type="application/octet-stream", compression_type=CompressionTypes.AUTO):
        return self._open(path, "rb", compression_type)

    def copy(self, source_file_names, destination_file_names):
        for src, dst in zip(source_file_names, destination_file_names, strict=True):
            local_path(dst).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(local_path(src), local_path(dst))

    def rename(self, source_file_names, destination_file_names):
        errors = {}
        for src, dst in zip(source_file_names, destination_file_names, strict=True):
            try:
                local_path(dst).parent.mkdir(parents=True, exist_ok=True)
                os.replace(local_path(src), local_path(dst))
            except OSError as err:
                errors[(src, dst)] = err
        if errors:
            raise BeamIOError("Rename operation failed", errors)

    def exists(self, path: str) -> bool:
        return local_path(path).exists()

    def size(self, path: str) -> int:
        return local_path(path).stat().st_size

    def last_updated(self, path: str) -> float:
        return local_path(path).stat().st_mtime

    def checksum(self, path: str) -> str:
        return str(self.size(path))

    def metadata(self, path: str) -> FileMetadata:
        st = local_path(path).stat()
        return FileMetadata(path, st.st_size, st.st_mtime)

    def delete(self, paths) -> None:
        errors = {}
        for url in paths:
            path = local_path(url)
            try:
                if path.is_dir():  # an object-store "prefix": everything under it
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except OSError as err:
                errors[url] = err
        if errors:
            raise BeamIOError("Delete operation failed", errors)

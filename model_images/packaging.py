"""Write the ``model.tar.gz`` a SageMaker Hugging Face endpoint loads, byte-for-byte reproducibly.

Layout (what the Hugging Face inference toolkit expects)::

    config.json, model.safetensors, tokenizer.json, ...  the model folder's files, at the root
    code/inference.py          model_fn / input_fn / predict_fn / output_fn
    code/requirements.txt      pip-installed by the container at start

The archive depends only on the files' paths and bytes: entries are sorted, and every entry has
the same mtime, owner and mode, and the gzip header carries no name or time. Packaging an
unchanged model twice gives the same bytes, so the S3 object (and the stack's preview) shows no
diff. Pure standard library: the ModelHost component uses it at ``pulumi up`` time too.

Example::

    write_model_archive("models/minilm", inference_code_dir("embedding"), "build/model.tar.gz")
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: model kind (as the CLI spells it) → folder of its inference code next to this file
KINDS = {"embedding": "embedding", "cross-encoder": "cross_encoder"}
#: the code files an endpoint needs; anything else in the code folder stays out
CODE_FILES = ("inference.py", "requirements.txt")
#: 2000-01-01T00:00:00Z: fixed, and late enough that no extractor warns about a 1970 timestamp
FIXED_MTIME = 946_684_800
FILE_MODE = 0o644
#: entries skipped when walking a model folder (VCS data, hub caches, byte code)
SKIPPED_NAMES = frozenset({"__pycache__"})


def inference_code_dir(kind: str) -> Path:
    """The folder holding ``inference.py`` + ``requirements.txt`` for ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {sorted(KINDS)}")
    return Path(__file__).resolve().parent / KINDS[kind]


def _model_files(model_dir: Path) -> Iterator[tuple[str, Path]]:
    """(archive name, path) of every file under ``model_dir``, skipping hidden and cache entries."""
    for dirpath, dirnames, filenames in os.walk(model_dir, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in SKIPPED_NAMES]
        for filename in filenames:
            if filename.startswith("."):
                continue
            path = Path(dirpath) / filename
            yield path.relative_to(model_dir).as_posix(), path


def archive_entries(model_dir: str | Path, code_dir: str | Path) -> list[tuple[str, Path]]:
    """The sorted (archive name, source path) list that ``write_model_archive`` writes."""
    model_root, code_root = Path(model_dir), Path(code_dir)
    if not model_root.is_dir():
        raise FileNotFoundError(f"model folder {model_root} does not exist")
    entries = dict(_model_files(model_root))
    clash = sorted(name for name in entries if name.startswith("code/"))
    if clash:
        raise ValueError(
            f"{model_root} already has a code/ folder ({clash[0]} ...); the archive's code/ must "
            "be chorus' inference code. Remove it from the model folder."
        )
    for name in CODE_FILES:
        path = code_root / name
        if not path.is_file():
            raise FileNotFoundError(f"inference code {path} is missing")
        entries[f"code/{name}"] = path
    if not any(name == "config.json" for name in entries):
        raise ValueError(f"{model_root} has no config.json; point at a Hugging Face model folder")
    return sorted(entries.items())


def _tar_info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = FIXED_MTIME
    info.mode = FILE_MODE
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info


def write_model_archive(model_dir: str | Path, code_dir: str | Path, out: str | Path) -> Path:
    """Write ``out`` (``model.tar.gz``) from a model folder plus inference code; return its path.

    The file appears atomically: it is written next to ``out`` and renamed into place.
    """
    entries = archive_entries(model_dir, code_dir)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".model-", suffix=".tar.gz", dir=target.parent)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as zipped,
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.GNU_FORMAT) as tar,
        ):
            for name, path in entries:
                with path.open("rb") as source:
                    size = os.fstat(source.fileno()).st_size
                    tar.addfile(_tar_info(name, size), source)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return target


def archive_names(archive: str | Path | bytes) -> list[str]:
    """Entry names of a written archive, in order (for checks and tests)."""
    data = archive if isinstance(archive, bytes) else Path(archive).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getnames()

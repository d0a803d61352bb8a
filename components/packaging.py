"""Lambda packages and layers, built byte-for-byte reproducibly from folders.

Nothing here imports ``runtime/``: it is packaged by path. Every archive has sorted entries,
a fixed timestamp (1980-01-01), fixed permissions and no ``__pycache__``, so an unchanged tree
gives the same bytes and ``pulumi preview`` shows no diff. (SageMaker ``model.tar.gz`` archives
are written by ``model_images.packaging``, which ``__main__.py`` calls.)

Layout on Lambda: the function package holds ``runtime/handlers``; the core layer holds
``python/runtime/{core,adapters}``; the dependencies layer holds the wheels under ``python/``.
Both halves of ``runtime`` get an ``__init__.py`` that extends the package path, so
``runtime.handlers`` (in /var/task) and ``runtime.core`` (in /opt/python) import as one package.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

FIXED_DATE = (1980, 1, 1, 0, 0, 0)
"""Zip timestamp of every entry (the earliest a zip can hold)."""

NAMESPACE_SHIM = '__path__ = __import__("pkgutil").extend_path(__path__, __name__)\n'
"""Prepended to ``runtime/__init__.py`` in both halves so they merge on ``sys.path``."""

SKIPPED = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")
SKIPPED_SUFFIXES = (".pyc", ".pyo")

CORE_PACKAGES = ("core", "adapters")
"""Subpackages of ``runtime/`` that go to the core layer."""

PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}


@dataclass(frozen=True)
class BuiltArchive:
    """A file written by this module."""

    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class LambdaArtifacts:
    """The three packages a stack deploys."""

    handlers: BuiltArchive
    core_layer: BuiltArchive
    dependencies_layer: BuiltArchive | None


def _digest(path: Path) -> BuiltArchive:
    data = path.read_bytes()
    return BuiltArchive(path, hashlib.sha256(data).hexdigest(), len(data))


def collect(root: Path, prefix: str, exclude: Iterable[str] = ()) -> dict[str, Path]:
    """Files under ``root`` as ``{archive name: path}``, skipping caches and ``exclude``
    (names relative to ``root``, e.g. ``"local"`` or ``"cli.py"``)."""
    excluded = set(exclude)
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_dir() or relative.parts[0] in excluded:
            continue
        if any(part in SKIPPED for part in relative.parts) or path.suffix in SKIPPED_SUFFIXES:
            continue
        found[f"{prefix}{relative.as_posix()}"] = path
    return found


def write_zip(entries: Mapping[str, Path | bytes], out_path: Path) -> BuiltArchive:
    """Write a reproducible zip: sorted names, fixed date, 0644 files (0755 if executable)."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(out_path.suffix + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(entries):
            source = entries[name]
            data = source if isinstance(source, bytes) else source.read_bytes()
            executable = not isinstance(source, bytes) and os.access(source, os.X_OK)
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
            archive.writestr(info, data, compresslevel=9)
    tmp.replace(out_path)
    return _digest(out_path)


def _runtime_init(runtime_dir: Path) -> bytes:
    original = runtime_dir / "__init__.py"
    body = original.read_text(encoding="utf-8") if original.exists() else ""
    return (NAMESPACE_SHIM + body).encode()


def build_handlers_zip(runtime_dir: str | Path, out_path: str | Path) -> BuiltArchive:
    """The function package: ``runtime/__init__.py`` (shim) and ``runtime/handlers/**``."""
    runtime_dir = Path(runtime_dir)
    handlers = runtime_dir / "handlers"
    if not handlers.is_dir():
        raise FileNotFoundError(f"{handlers} does not exist; is {runtime_dir} chorus's runtime/?")
    entries: dict[str, Path | bytes] = {"runtime/__init__.py": _runtime_init(runtime_dir)}
    entries.update(collect(handlers, "runtime/handlers/"))
    return write_zip(entries, Path(out_path))


def build_core_layer(
    runtime_dir: str | Path, out_path: str | Path, packages: Sequence[str] = CORE_PACKAGES
) -> BuiltArchive:
    """The core layer: ``python/runtime/__init__.py`` (shim) and ``python/runtime/<packages>``."""
    runtime_dir = Path(runtime_dir)
    entries: dict[str, Path | bytes] = {"python/runtime/__init__.py": _runtime_init(runtime_dir)}
    for package in packages:
        folder = runtime_dir / package
        if folder.is_dir():
            entries.update(collect(folder, f"python/runtime/{package}/"))
    return write_zip(entries, Path(out_path))


def pip_command(
    requirements: Sequence[str], target: Path, architecture: str = "x86_64"
) -> list[str]:
    """``pip install`` of Lambda-platform wheels only (never builds sdists locally)."""
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--platform", PLATFORMS[architecture], "--implementation", "cp",
        "--python-version", "3.12", "--only-binary=:all:", "--no-compile",
        "--target", str(target), *requirements,
    ]  # fmt: skip


def build_dependencies_layer(
    requirements: Sequence[str],
    out_path: str | Path,
    work_dir: str | Path,
    architecture: str = "x86_64",
    run=subprocess.run,
) -> BuiltArchive:
    """Install wheels for the Lambda platform into ``python/`` and zip them reproducibly.

    The install is cached per requirements set in ``work_dir``; ``boto3``/``botocore`` are
    dropped (the Lambda runtime provides them).
    """
    key = hashlib.sha256("\n".join([architecture, *sorted(requirements)]).encode()).hexdigest()
    target = Path(work_dir) / f"deps-{key[:16]}" / "python"
    if requirements and not (target.parent / ".complete").exists():
        target.mkdir(parents=True, exist_ok=True)
        run(pip_command(requirements, target, architecture), check=True)
        (target.parent / ".complete").write_text("\n".join(requirements))
    entries: dict[str, Path | bytes] = {}
    if target.is_dir():
        provided = ("boto3", "botocore", "s3transfer", "jmespath", "bin")
        entries = {
            name: path
            for name, path in collect(target, "python/").items()
            if not name.split("/")[1].startswith(provided)
        }
    return write_zip(entries, Path(out_path))


def build_lambda_artifacts(
    runtime_dir: str | Path,
    out_dir: str | Path,
    requirements: Sequence[str] = (),
    architecture: str = "x86_64",
) -> LambdaArtifacts:
    """Everything the stack deploys as Lambda code, written to ``out_dir``."""
    out_dir = Path(out_dir)
    return LambdaArtifacts(
        handlers=build_handlers_zip(runtime_dir, out_dir / "handlers.zip"),
        core_layer=build_core_layer(runtime_dir, out_dir / "core-layer.zip"),
        dependencies_layer=build_dependencies_layer(
            requirements, out_dir / "dependencies-layer.zip", out_dir / "work", architecture
        )
        if requirements
        else None,
    )

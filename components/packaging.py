"""Lambda packages and layers, built byte-for-byte reproducibly from folders.

Nothing here imports ``runtime/``: it is packaged by path. Every archive has sorted entries,
a fixed timestamp (1980-01-01), fixed permissions and no ``__pycache__``, so an unchanged tree
gives the same bytes and ``pulumi preview`` shows no diff. (SageMaker ``model.tar.gz`` archives
are written by ``model_images.packaging``, which ``__main__.py`` calls.)

Layout on Lambda: the function package holds ``runtime/handlers``; the core layer holds
``python/runtime/{core,adapters,cloud}`` and ``python/runtime/statemachines/*.json``; the
dependencies layer holds the wheels under ``python/``.

Bytecode: Lambda's code folders are read-only, so a package without ``__pycache__`` is compiled
again by every cold start (2-4 s per handler measured; docs/cloud_runtime.md). With a Python
3.12 interpreter on the build machine (the Lambda runtime's version: ``find_lambda_python``),
every archive also ships ``__pycache__/*.cpython-312.pyc`` compiled with
``--invalidation-mode unchecked-hash``: no timestamp in the file, never checked against the
source at import, so the bytes depend on the source alone.
Both halves of ``runtime`` get an ``__init__.py`` that extends the package path, so
``runtime.handlers`` (in /var/task) and ``runtime.core`` (in /opt/python) import as one package.
"""

from __future__ import annotations

import ast
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

FIXED_DATE = (1980, 1, 1, 0, 0, 0)
"""Zip timestamp of every entry (the earliest a zip can hold)."""

NAMESPACE_SHIM = '__path__ = __import__("pkgutil").extend_path(__path__, __name__)\n'
"""Prepended to ``runtime/__init__.py`` in both halves so they merge on ``sys.path``."""

SKIPPED = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")
SKIPPED_SUFFIXES = (".pyc", ".pyo")

CORE_PACKAGES = ("core", "adapters", "application", "cloud")
"""Subpackages of ``runtime/`` that go to the core layer (``application`` is the REST API's
operations, ``cloud`` the handlers' wiring)."""

CORE_DATA = (("statemachines", "*.json"),)
"""Data files of ``runtime/`` in the core layer: ``runtime.core.stepfunctions_plan`` reads the
fan-out ASL relative to its own file."""

LAMBDA_REQUIREMENTS = (
    "aws-lambda-powertools[tracer]>=3.37,<4",
    "pydantic>=2.7,<3",
    "PyJWT[crypto]>=2.10,<3",
    "psycopg2-binary>=2.9,<3",
    "pgvector>=0.3,<0.6",
    "numpy>=1.26,<3",
    "langchain-text-splitters>=0.3,<2",
    "charset-normalizer>=3,<4",
    "pypdf>=4,<8",
    "python-docx>=1.1,<2",
    "beautifulsoup4>=4.12,<5",
    "tenacity>=8.2,<10",
    "pybreaker>=1.2,<2",
    "PyYAML>=6,<7",
    "bm25s>=0.2,<0.4",
    "opensearch-py>=2.6,<3",
    "lemminflect>=0.2.3,<0.3",
    "python-slugify>=8,<10",
    "httpx>=0.27,<1",
    "trafilatura>=2.0,<3",
    "feedparser>=6.0,<7",
    "protego>=0.3,<1",
    "lxml>=5.2,<7",
    "lxml_html_clean>=0.4,<1",
)
"""What the handlers import (directly or through ``runtime.{cloud,core,adapters}``), as
Lambda-platform wheels: every store a workspace can pick is reachable from the workers, so
``bm25s`` (the DynamoDB store's keyword search; numpy only) and ``opensearch-py`` ship too —
2.x, since 3.x pulls gRPC and protobuf (~25 MB) for a transport chorus does not use.
``lemminflect`` (lemmas for the grounding judge's contradiction check; pure Python + ~1 MB of
data) ships for the chat worker; ``python-slugify`` (with ``text-unidecode``, ~0.3 MB) makes
workspace ids from names in any script (``runtime/application/naming.py``); httpx, trafilatura
(with lxml), feedparser, protego and ``lxml_html_clean`` fetch and read web and feed sources in
``sync_sources`` (``runtime/cloud/sources.py``).
torch/transformers (local models) and the local server's packages are not needed on Lambda;
boto3/botocore/urllib3 come with the runtime."""

OPENAI_REQUIREMENTS = ("openai>=1.40,<4",)
"""Added when the stack configures OpenAI(-compatible) models (``models.openaiModels``)."""

IMPORT_NAMES = {
    "aws-lambda-powertools": "aws_lambda_powertools",
    "pyjwt": "jwt",
    "psycopg2-binary": "psycopg2",
    "langchain-text-splitters": "langchain_text_splitters",
    "charset-normalizer": "charset_normalizer",
    "python-docx": "docx",
    "beautifulsoup4": "bs4",
    "pyyaml": "yaml",
    "opensearch-py": "opensearchpy",
    "python-slugify": "slugify",
    "lxml_html_clean": "lxml_html_clean",
}
"""Distribution name (lower case) → top-level module, where they differ."""

LAMBDA_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "urllib3"})
"""Modules the Lambda Python runtime ships (never packaged)."""

PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}

LAMBDA_PYTHON = (3, 12)
"""The Python of the functions (``components.function``: ``python3.12``); bytecode is compiled
by an interpreter of exactly this version (its ``.pyc`` magic number and cache tag)."""

CACHE_TAG = f"cpython-{LAMBDA_PYTHON[0]}{LAMBDA_PYTHON[1]}"

BytecodeMode = Literal["auto", "always", "never"]
"""``always``: ship bytecode or fail; ``auto``: ship it when a Python 3.12 is found; ``never``:
sources only."""

TRIMMED_DISTRIBUTIONS = (
    "langsmith",
    "httpx2",
    "httpcore2",
    "websockets",
    "requests_toolbelt",
    "zstandard",
    "xxhash",
)
"""Installed because ``langchain-core`` (under ``langchain-text-splitters``) requires
``langsmith``, which brings the others, but imported only to trace to LangSmith, which chorus
never turns on: the text splitters ``core/chunking.py`` uses import none of them (10 MB zipped).
``adapters/langchain_store.py`` needs langchain-core's callbacks, hence langsmith; no handler
imports it."""

TRIMMED_PATHS = (
    "lxml/objectify.",
    "numpy/_core/_simd.",
    "numpy/f2py/",
    "yaml/_yaml.",
    "_yaml/",
)
"""Parts of shipped distributions that nothing chorus runs imports (prefixes under ``python/``):
``lxml.objectify`` (python-docx uses ``lxml.etree`` only, 1.5 MB), numpy's SIMD test module
and its Fortran wrapper generator (a build tool), and PyYAML's libyaml binding (PyYAML falls back
to its pure-Python loader; the app config is JSON)."""

BABEL_LOCALES_KEPT = frozenset({"root.dat", "en.dat", "en_001.dat", "en_US.dat"})
"""The only CLDR locales shipped of Babel's ~1,100 (11 MB zipped of the 64 MB layer): Babel comes
with ``courlan`` (under trafilatura, the web sources' HTML reader), which parses locales only
to filter URLs by a target language. chorus never asks for one; an unknown locale is
``UnknownLocaleError``, which courlan catches and scores as no match."""

TRIMMED_DIRS = frozenset({"tests", "testing_data", "__pycache__"})
"""Folders no handler imports: packages' own test suites (numpy's alone is 1.5 MB zipped)."""

TRIMMED_SUFFIXES = (".pyi", ".pxd", ".pyx", ".h", ".c", ".cpp")
"""Type stubs and C sources/headers: read by type checkers and compilers, never at run time."""

_COMPILE = r"""
import importlib.util, json, py_compile, sys, warnings
warnings.simplefilter("ignore")
jobs = json.load(open(sys.argv[1]))
failed = []
for source, target, shown in jobs:
    try:
        py_compile.compile(source, cfile=target, dfile=shown, doraise=True, optimize=0,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError:
        failed.append(shown)
print(json.dumps({"tag": sys.implementation.cache_tag, "failed": failed}))
"""
"""Run by the Lambda-version interpreter: each ``[source, target .pyc, name in the archive]``."""


class BytecodeUnavailable(RuntimeError):
    """``bytecode: always`` and no Python 3.12 on this machine."""

    code = "bytecode_unavailable"


def _python_version(executable: str) -> tuple[int, int] | None:
    try:
        done = subprocess.run(
            [executable, "-S", "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    parts = done.stdout.split()
    if done.returncode != 0 or len(parts) != 2:
        return None
    return int(parts[0]), int(parts[1])


def find_lambda_python() -> str | None:
    """A Python 3.12 interpreter to compile Lambda bytecode with: ``CHORUS_LAMBDA_PYTHON``, this
    interpreter, ``python3.12`` on ``PATH``, then pyenv's and uv's installs; None without one."""
    version = "{}.{}".format(*LAMBDA_PYTHON)
    home = Path.home()
    candidates = [
        os.environ.get("CHORUS_LAMBDA_PYTHON"),
        sys.executable,
        shutil.which(f"python{version}"),
        *sorted(glob.glob(str(home / f".pyenv/versions/{version}.*/bin/python"))),
        *sorted(glob.glob(str(home / f".local/share/uv/python/cpython-{version}.*/bin/python3"))),
        f"/usr/bin/python{version}",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists() and _python_version(candidate) == LAMBDA_PYTHON:
            return candidate
    return None


def lambda_python(mode: BytecodeMode) -> str | None:
    """The interpreter that compiles the bytecode under ``mode``; None to ship sources only."""
    if mode == "never":
        return None
    python = find_lambda_python()
    if python is None and mode == "always":
        raise BytecodeUnavailable(
            "shipping Lambda bytecode needs a Python 3.12 interpreter (the functions' runtime): "
            "install one (pyenv install 3.12, uv python install 3.12, apt python3.12) or point "
            "CHORUS_LAMBDA_PYTHON at it; or set chorus:lambda.bytecode to auto/never"
        )
    return python


def pyc_name(name: str) -> str:
    """Where the bytecode of archive entry ``a/b/c.py`` goes: ``a/b/__pycache__/c.<tag>.pyc``."""
    folder, slash, file = name.rpartition("/")
    return f"{folder}{slash}__pycache__/{file[: -len('.py')]}.{CACHE_TAG}.pyc"


def compile_bytecode(
    sources: Mapping[str, Path | bytes], python: str, out_dir: Path | None = None
) -> dict[str, Path | bytes]:
    """``.pyc`` entries for the ``.py`` entries of ``sources``, compiled by ``python`` (a 3.12)
    in unchecked-hash mode with ``PYTHONHASHSEED=0`` (set constants marshal in one order), each
    recording its archive name as its file name (no build path leaks into the bytes). A file
    that does not compile (a package's Python 2 leftovers) ships as source only.

    With ``out_dir`` the ``.pyc`` files are written there and returned as paths (a cache), else
    returned as bytes."""
    names = sorted(n for n in sources if n.endswith(".py"))
    if not names:
        return {}
    with tempfile.TemporaryDirectory(prefix="chorus-pyc-") as tmp:
        work = Path(tmp)
        target_root = out_dir or work / "out"
        jobs = []
        for index, name in enumerate(names):
            source = sources[name]
            if isinstance(source, bytes):
                path = work / "src" / f"{index}.py"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(source)
                source = path
            jobs.append([str(source), str(target_root / pyc_name(name)), name])
        manifest = work / "jobs.json"
        manifest.write_text(json.dumps(jobs))
        env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(
            [python, "-S", "-c", _COMPILE, str(manifest)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        report = json.loads(done.stdout.strip().splitlines()[-1])
        if report["tag"] != CACHE_TAG:
            raise BytecodeUnavailable(f"{python} compiles for {report['tag']}, not {CACHE_TAG}")
        failed = set(report["failed"])
        compiled: dict[str, Path | bytes] = {}
        for name in names:
            if name in failed:
                continue
            path = target_root / pyc_name(name)
            compiled[pyc_name(name)] = path if out_dir is not None else path.read_bytes()
        return compiled


def with_bytecode(entries: dict[str, Path | bytes], python: str | None) -> dict[str, Path | bytes]:
    """``entries`` plus their bytecode when ``python`` is given."""
    if python is None:
        return entries
    return {**entries, **compile_bytecode(entries, python)}


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
    bytecode: str | None = None
    """The cache tag of the shipped bytecode (``cpython-312``), or None for sources only."""


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


def build_handlers_zip(
    runtime_dir: str | Path, out_path: str | Path, python: str | None = None
) -> BuiltArchive:
    """The function package: ``runtime/__init__.py`` (shim) and ``runtime/handlers/**``, with
    their 3.12 bytecode when ``python`` (a 3.12 interpreter) is given."""
    runtime_dir = Path(runtime_dir)
    handlers = runtime_dir / "handlers"
    if not handlers.is_dir():
        raise FileNotFoundError(f"{handlers} does not exist; is {runtime_dir} chorus's runtime/?")
    entries: dict[str, Path | bytes] = {"runtime/__init__.py": _runtime_init(runtime_dir)}
    entries.update(collect(handlers, "runtime/handlers/"))
    return write_zip(with_bytecode(entries, python), Path(out_path))


def core_layer_entries(
    runtime_dir: str | Path, packages: Sequence[str] = CORE_PACKAGES
) -> dict[str, Path | bytes]:
    """What the core layer holds, as ``{archive name: source}`` (no zip written)."""
    runtime_dir = Path(runtime_dir)
    entries: dict[str, Path | bytes] = {"python/runtime/__init__.py": _runtime_init(runtime_dir)}
    for package in packages:
        folder = runtime_dir / package
        if folder.is_dir():
            entries.update(collect(folder, f"python/runtime/{package}/"))
    for folder_name, pattern in CORE_DATA:
        for path in sorted((runtime_dir / folder_name).glob(pattern)):
            entries[f"python/runtime/{folder_name}/{path.name}"] = path
    return entries


def build_core_layer(
    runtime_dir: str | Path,
    out_path: str | Path,
    packages: Sequence[str] = CORE_PACKAGES,
    python: str | None = None,
) -> BuiltArchive:
    """The core layer: ``python/runtime/__init__.py`` (shim), ``python/runtime/<packages>`` and
    the ``CORE_DATA`` files, with their 3.12 bytecode when ``python`` is given."""
    entries = core_layer_entries(runtime_dir, packages)
    return write_zip(with_bytecode(entries, python), Path(out_path))


def lambda_requirements(*, openai: bool = False) -> list[str]:
    """The dependencies layer's requirements for a stack (OpenAI's SDK only when used)."""
    return [*LAMBDA_REQUIREMENTS, *(OPENAI_REQUIREMENTS if openai else ())]


def requirement_module(requirement: str) -> str:
    """Top-level module a requirement provides: ``"PyJWT[crypto]>=2"`` → ``"jwt"``."""
    name = requirement
    for stop in "[<>=!~; ":
        name = name.split(stop, 1)[0]
    name = name.strip().lower()
    return IMPORT_NAMES.get(name, name.replace("-", "_"))


def _module_file(runtime_dir: Path, module: str) -> Path | None:
    relative = Path(*module.split(".")[1:])
    for candidate in (
        runtime_dir / relative.with_suffix(".py"),
        runtime_dir / relative / "__init__.py",
    ):
        if candidate.is_file():
            return candidate
    return None


def third_party_imports(runtime_dir: str | Path, entry: str = "handlers") -> dict[str, set[str]]:
    """Top-level modules outside ``runtime`` and the standard library that the modules of
    ``runtime/<entry>`` import, directly or through other ``runtime`` modules (also imports
    inside functions) → the ``runtime`` modules importing them. Read with ``ast``; nothing is
    imported."""
    runtime_dir = Path(runtime_dir)
    pending = [f"runtime.{entry}.{p.stem}" for p in sorted((runtime_dir / entry).glob("*.py"))]
    seen: set[str] = set()
    found: dict[str, set[str]] = {}
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _module_file(runtime_dir, module)
        if path is None:
            continue
        parts = module.split(".")
        pending += [".".join(parts[:i]) for i in range(2, len(parts))]
        package = parts if path.name == "__init__.py" else parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level:
                base = ".".join(
                    [*package[: len(package) - node.level + 1], *filter(None, [node.module])]
                )
                pending += [base, *(f"{base}.{alias.name}" for alias in node.names)]
                continue
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "runtime":
                    pending.append(name)
                elif top != "__future__" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(module)
    return found


def missing_requirements(
    runtime_dir: str | Path, requirements: Sequence[str], optional: Sequence[str] = ()
) -> dict[str, set[str]]:
    """Modules the handlers import that neither ``requirements``, ``optional`` (modules
    imported only when a feature is configured) nor the Lambda runtime provide."""
    provided = {requirement_module(r) for r in requirements} | LAMBDA_PROVIDED | set(optional)
    return {
        module: importers
        for module, importers in third_party_imports(runtime_dir).items()
        if module not in provided
    }


@dataclass(frozen=True)
class LayerSpec:
    """What a dependencies layer build will do, decided without touching the network."""

    requirements: tuple[str, ...]
    architecture: str
    key: str
    """Cache key: SHA-256 of the architecture and the sorted requirements."""
    command: tuple[str, ...]
    """The ``pip install`` command (target folder ``<work_dir>/deps-<key[:16]>/python``)."""
    target: Path


def dependencies_layer_spec(
    requirements: Sequence[str], work_dir: str | Path, architecture: str = "x86_64"
) -> LayerSpec:
    """The pip command and cache folder of a dependencies layer (nothing is installed)."""
    key = hashlib.sha256("\n".join([architecture, *sorted(requirements)]).encode()).hexdigest()
    target = Path(work_dir) / f"deps-{key[:16]}" / "python"
    return LayerSpec(
        tuple(requirements),
        architecture,
        key,
        tuple(pip_command(requirements, target, architecture)),
        target,
    )


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


def trimmed(name: str) -> bool:
    """Whether a dependencies-layer entry (``python/<top>/...``) is left out: what the Lambda
    runtime provides, ``TRIMMED_DISTRIBUTIONS``, test suites, stubs and C sources."""
    parts = name.split("/")
    top = parts[1].lower()
    provided = ("boto3", "botocore", "s3transfer", "jmespath", "bin")
    if top.startswith(provided):
        return True
    if any(top == d or top.startswith(f"{d}-") for d in TRIMMED_DISTRIBUTIONS):
        return True
    if name.removeprefix("python/").startswith(TRIMMED_PATHS):
        return True
    if name.startswith("python/babel/locale-data/") and parts[-1] not in BABEL_LOCALES_KEPT:
        return True
    return any(part in TRIMMED_DIRS for part in parts[2:-1]) or name.endswith(TRIMMED_SUFFIXES)


def build_dependencies_layer(
    requirements: Sequence[str],
    out_path: str | Path,
    work_dir: str | Path,
    architecture: str = "x86_64",
    run=subprocess.run,
    python: str | None = None,
) -> BuiltArchive:
    """Install wheels for the Lambda platform into ``python/`` and zip them reproducibly, with
    their 3.12 bytecode when ``python`` is given.

    The install (and its bytecode) is cached per requirements set in ``work_dir``; what
    ``trimmed`` names is dropped (boto3/botocore come with the Lambda runtime).
    """
    spec = dependencies_layer_spec(requirements, work_dir, architecture)
    target = spec.target
    if requirements and not (target.parent / ".complete").exists():
        target.mkdir(parents=True, exist_ok=True)
        run(list(spec.command), check=True)
        (target.parent / ".complete").write_text("\n".join(requirements))
    entries: dict[str, Path | bytes] = {}
    if target.is_dir():
        entries = {
            name: path for name, path in collect(target, "python/").items() if not trimmed(name)
        }
    if python is not None and entries:
        cache = target.parent / f"bytecode-{CACHE_TAG}"
        marker = cache / ".complete"
        if not marker.exists():
            shutil.rmtree(cache, ignore_errors=True)
            compile_bytecode(entries, python, out_dir=cache)
            marker.write_text(CACHE_TAG)
        for name in sorted(entries):
            if name.endswith(".py") and (cache / pyc_name(name)).is_file():
                entries[pyc_name(name)] = cache / pyc_name(name)
    return write_zip(entries, Path(out_path))


def build_lambda_artifacts(
    runtime_dir: str | Path,
    out_dir: str | Path,
    requirements: Sequence[str] = (),
    architecture: str = "x86_64",
    bytecode: BytecodeMode = "auto",
) -> LambdaArtifacts:
    """Everything the stack deploys as Lambda code, written to ``out_dir``; with bytecode for
    Python 3.12 as ``bytecode`` decides (``lambda_python``)."""
    out_dir = Path(out_dir)
    python = lambda_python(bytecode)
    return LambdaArtifacts(
        handlers=build_handlers_zip(runtime_dir, out_dir / "handlers.zip", python),
        core_layer=build_core_layer(runtime_dir, out_dir / "core-layer.zip", python=python),
        dependencies_layer=build_dependencies_layer(
            requirements,
            out_dir / "dependencies-layer.zip",
            out_dir / "work",
            architecture,
            python=python,
        )
        if requirements
        else None,
        bytecode=CACHE_TAG if python else None,
    )


def runtime_source_dir() -> Path:
    """The runtime's source folder to package: the repository's ``runtime/`` next to this
    package, or the installed ``chorus.runtime`` of a ``chorus``/``chorus-infra`` wheel.

    Found without importing the runtime (its modules need libraries a deploy does not).
    """
    beside = Path(__file__).resolve().parent.parent / "runtime"
    if (beside / "handlers").is_dir():
        return beside
    import importlib.util

    spec = importlib.util.find_spec("chorus.runtime")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("chorus.runtime is not installed: pip install chorus-infra")
    return Path(next(iter(spec.submodule_search_locations)))

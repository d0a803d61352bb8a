"""Cold import time of every Lambda handler, laid out as Lambda lays it out.

Builds the handler zip, the core layer and the dependencies layer with ``components.packaging``
(exactly what ``chorus up`` deploys), unpacks them the way the Python 3.12 runtime sees them —
the function package in ``var/task``, the layers merged in ``opt`` (``opt/python`` on
``sys.path``), boto3 as the runtime's own — and imports each handler in a fresh Python 3.12
process: code read-only (a private read-only bind mount when the bench runs as root, else
``chmod``), ``PYTHONDONTWRITEBYTECODE=1``, so nothing is cached between runs except what the
artifacts ship. Prints, for every handler, the median import time of ``--runs`` processes and
the number of modules the import loaded. For the WebSocket edge, whose import leaves boto3 and
PyJWT to the first call, a second figure adds what that call builds before it reaches the
network (the wiring, the boto3 session and DynamoDB table, the token verifier and PyJWT).

``--before REF`` builds the runtime of a git ref (e.g. ``main``) too and prints both in one run;
``--variants`` picks which builds are measured (``source``: no bytecode shipped, as before
issue 13; ``bytecode``: the 3.12 bytecode ``components.packaging`` now ships); the ref is built
as it shipped (``source``) unless ``--before-variants`` says otherwise. Every figure comes with
the load average of its five processes; ``FIRST_CALL`` adds what a handler's first call builds
before the network.

    .venv/bin/python bench/cold_start.py [--before main] [--runs 5]

Targets (issue 13, 2-core build machine): the WebSocket connect/disconnect/authorizer handlers
<= 0.3 s; ``rest_api`` and ``ws_message`` <= 0.8 s; the workers <= 1.5 s before SnapStart.
Timings depend on the machine's load: the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components import packaging  # noqa: E402

HANDLERS = (
    "ws_authorizer",
    "ws_connect",
    "ws_disconnect",
    "ws_message",
    "rest_api",
    "chat_worker",
    "ingest_worker",
    "reindex_document",
    "fanout_model",
    "fanout_agreement",
    "db_setup",
)
TARGETS = {
    "ws_authorizer": 0.3,
    "ws_connect": 0.3,
    "ws_disconnect": 0.3,
    "ws_message": 0.8,
    "rest_api": 0.8,
}
WORKER_TARGET = 1.5

LAMBDA_ENV = {
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_LAMBDA_FUNCTION_NAME": "chorus-bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    "LAMBDA_TASK_ROOT": "/var/task",
    "LAMBDA_RUNTIME_DIR": "/var/runtime",
    "POWERTOOLS_SERVICE_NAME": "chorus",
    "PYTHONDONTWRITEBYTECODE": "1",
    "LANG": "en_US.UTF-8",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "CHORUS_CONNECTIONS_TABLE": "bench-connections",
    "CHORUS_ISSUER_URL": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_bench",
    "CHORUS_CLIENT_ID": "bench",
}
"""What a handler module can see of its environment at import (no credentials: nothing may call
AWS at import)."""

DRIVER = r"""
import json, sys, time
sys.path[:0] = sys.argv[2].split(":")
before = len(sys.modules)
start = time.perf_counter()
__import__(sys.argv[1])
elapsed = time.perf_counter() - start
imported = len(sys.modules) - before
first = None
if sys.argv[4]:
    exec(sys.argv[4])
    first = time.perf_counter() - start
names = sorted(sys.modules)
print(json.dumps({"seconds": elapsed, "modules": imported, "first_call": first,
                  "first_call_modules": len(sys.modules) - before,
                  "heavy": sorted({n.split(".")[0] for n in names} & set(sys.argv[3].split(",")))}))
"""
HEAVY = ",".join(
    (
        "numpy", "langchain_text_splitters", "langchain_core", "psycopg2", "pgvector", "pypdf",
        "docx", "bs4", "bm25s", "opensearchpy", "pydantic", "jwt", "cryptography", "boto3",
        "botocore", "aws_xray_sdk", "aws_lambda_powertools",
    )
)  # fmt: skip

_EDGE_WIRING = "from runtime.cloud.wiring.connections import connection_wiring as w\n"
_TRACED = (
    "from runtime.handlers.observability import tracer\n"
    "getattr(tracer, 'get', lambda: tracer)()\n"  # built at import before the tracer moved
    "import boto3\n"
    "session = boto3.session.Session()\n"
)
_PRELOAD = "from runtime.cloud.wiring.snapshot import {0}, preload\npreload({0})\n"
FIRST_CALL = {
    "ws_connect": _EDGE_WIRING + "w().connections\n",
    "ws_disconnect": _EDGE_WIRING + "w().connections\n",
    "ws_authorizer": _EDGE_WIRING + "w().verifier\nimport jwt, jwt.algorithms\n",
    "rest_api": _TRACED
    + "session.client('ssm')\nsession.resource('dynamodb')\n"
    + "import runtime.adapters.dynamodb_metadata\n",
    "chat_worker": _TRACED + _PRELOAD.format("CHAT_TURN"),
    "ingest_worker": _TRACED + _PRELOAD.format("INGESTION"),
    "reindex_document": _TRACED + _PRELOAD.format("INGESTION"),
    "fanout_model": _TRACED,
    "fanout_agreement": _TRACED,
}
"""What a handler's first call builds before its first network call: the edge's wiring; for the
functions on Powertools the X-Ray tracer (built at import before issue 13's second pass), a
boto3 session, and the modules a SnapStart snapshot would hold (``wiring/snapshot.py``); for
the REST API what a ``GET /workspaces`` builds (the SSM client that loads the settings, the
DynamoDB resource and records). The ``before`` column of a ref older than the per-handler
wiring is measured without it (its wiring needed AWS at import)."""


@dataclass(frozen=True)
class Figure:
    handler: str
    median_s: float
    modules: int
    heavy: list[str]
    first_call_s: float | None = None
    first_call_modules: int | None = None
    load: float = 0.0
    """The 1-minute load average when the handler's processes ran."""


def lambda_python() -> str:
    found = packaging.find_lambda_python()
    if found is None:
        sys.exit("no Python 3.12 interpreter found (set CHORUS_LAMBDA_PYTHON or install one)")
    return found


def runtime_boto3(work: Path, python: str) -> Path:
    """boto3 for 3.12 as the Lambda runtime ships it (installed with pip, so compiled)."""
    target = work / "var-runtime"
    if not (target / ".complete").exists():
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "--platform", "manylinux2014_x86_64", "--implementation", "cp",
                "--python-version", "3.12", "--only-binary=:all:", "--no-compile",
                "--target", str(target), "boto3",
            ],
            check=True,
        )  # fmt: skip
        subprocess.run(
            [python, "-m", "compileall", "-q", "-j0", str(target)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        (target / ".complete").write_text("boto3\n")
    return target


def runtime_tree(ref: str | None, work: Path) -> Path:
    """``runtime/`` of this worktree, or of git ``ref`` (exported with ``git archive``)."""
    if ref is None:
        return ROOT / "runtime"
    out = work / f"src-{ref.replace('/', '_')}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "runtime"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out / "runtime"


def lay_out(artifacts: packaging.LambdaArtifacts, where: Path) -> tuple[Path, Path]:
    """Unzip like Lambda: the package in ``var/task``, every layer merged into ``opt``."""
    shutil.rmtree(where, ignore_errors=True)
    task, opt = where / "var" / "task", where / "opt"
    task.mkdir(parents=True)
    opt.mkdir(parents=True)
    with zipfile.ZipFile(artifacts.handlers.path) as archive:
        archive.extractall(task)
    for layer in (artifacts.core_layer, artifacts.dependencies_layer):
        if layer is not None:
            with zipfile.ZipFile(layer.path) as archive:
                archive.extractall(opt)
    return task, opt


def measure(
    python: str, task: Path, opt: Path, boto: Path, handler: str, runs: int, first_call: str
) -> Figure:
    path = ":".join(str(p) for p in (task, opt / "python", boto))
    code = f'mount --bind -o ro {task} {task} && mount --bind -o ro {opt} {opt} && exec "$@"'
    argv = [python, "-S", "-c", DRIVER, f"runtime.handlers.{handler}", path, HEAVY, first_call]
    if os.geteuid() == 0 and shutil.which("unshare"):
        argv = ["unshare", "-m", "sh", "-c", code, "sh", *argv]
    samples, firsts, loads = [], [], []
    result: dict = {}
    for _ in range(runs):
        loads.append(os.getloadavg()[0])
        done = subprocess.run(argv, env=LAMBDA_ENV, capture_output=True, text=True, cwd=task)
        if done.returncode != 0:
            raise RuntimeError(f"{handler}: {done.stderr.strip()[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        samples.append(result["seconds"])
        if result["first_call"] is not None:
            firsts.append(result["first_call"])
    return Figure(
        handler,
        statistics.median(samples),
        result["modules"],
        result["heavy"],
        statistics.median(firsts) if firsts else None,
        result["first_call_modules"] if firsts else None,
        statistics.median(loads),
    )


def read_only(*folders: Path) -> None:
    """Without a private mount namespace: at least take the write bits away."""
    for folder in folders:
        for path in folder.rglob("*"):
            path.chmod(path.stat().st_mode & ~0o222)


def build(
    runtime_dir: Path, out: Path, requirements: list[str], bytecode: bool, work: Path
) -> packaging.LambdaArtifacts:
    """What ``packaging.build_lambda_artifacts`` builds, the pip install shared between builds."""
    python = packaging.lambda_python("always" if bytecode else "never")
    return packaging.LambdaArtifacts(
        handlers=packaging.build_handlers_zip(runtime_dir, out / "handlers.zip", python),
        core_layer=packaging.build_core_layer(runtime_dir, out / "core-layer.zip", python=python),
        dependencies_layer=packaging.build_dependencies_layer(
            requirements, out / "dependencies-layer.zip", work, python=python
        ),
        bytecode=packaging.CACHE_TAG if python else None,
    )


def first_call(task: Path, handler: str) -> str:
    """``FIRST_CALL`` of ``handler`` when the build has the per-handler wiring it uses."""
    wiring = Path("runtime", "cloud", "wiring")
    opt = task.parent.parent / "opt" / "python"
    return FIRST_CALL.get(handler, "") if any((r / wiring).is_dir() for r in (task, opt)) else ""


def target_of(handler: str) -> float:
    return TARGETS.get(handler, WORKER_TARGET)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", help="git ref whose runtime is measured too, e.g. main")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=ROOT / ".chorus" / "bench" / "cold_start")
    parser.add_argument(
        "--variants", default="source,bytecode", help="source,bytecode (comma-separated)"
    )
    parser.add_argument("--handlers", default=",".join(HANDLERS))
    parser.add_argument(
        "--before-variants",
        default="source",
        help="builds of --before: source (as it shipped before issue 13), bytecode, or both",
    )
    args = parser.parse_args()
    python = lambda_python()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    boto = runtime_boto3(work, python)
    requirements = packaging.lambda_requirements()
    handlers = args.handlers.split(",")
    columns: list[tuple[str, dict[str, Figure], packaging.LambdaArtifacts]] = []
    builds = [(args.before, "before")] if args.before else []
    builds.append((None, "after"))
    for ref, label in builds:
        source = runtime_tree(ref, work)
        variants = args.variants.split(",")
        if ref is not None:
            variants += [v for v in args.before_variants.split(",") if v not in variants]
        for variant in variants:
            if ref is not None and variant not in args.before_variants.split(","):
                continue  # by default the old runtime is measured as it shipped: no bytecode
            name = f"{label}/{variant}"
            artifacts = build(
                source, work / name, requirements, variant == "bytecode", work / "pip"
            )
            with tempfile.TemporaryDirectory(dir=work) as tmp:
                task, opt = lay_out(artifacts, Path(tmp))
                if os.geteuid() != 0:
                    read_only(task, opt)
                figures = {
                    h: measure(python, task, opt, boto, h, args.runs, first_call(task, h))
                    for h in handlers
                }
                for folder in (task, opt):
                    for path in folder.rglob("*"):
                        path.chmod(path.stat().st_mode | 0o200)
            columns.append((name, figures, artifacts))
    load = os.getloadavg()
    print(f"Python: {python}; {args.runs} fresh processes per handler (median)")
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    print()
    names = [name for name, *_ in columns]
    print("| handler | target s |" + "".join(f" {n} s | {n} modules | {n} load |" for n in names))
    print("|" + " --- |" * (2 + 3 * len(columns)))
    for handler in handlers:
        row = f"| {handler} | {target_of(handler)} |"
        for _, figures, _ in columns:
            figure = figures[handler]
            row += f" {figure.median_s:.3f} | {figure.modules} | {figure.load:.1f} |"
        print(row)
    print()
    print("Import + what the first call builds before the network (FIRST_CALL):")
    for name, figures, _ in columns:
        for handler in handlers:
            figure = figures[handler]
            if figure.first_call_s is not None:
                print(
                    f"  {name} {handler}: {figure.first_call_s:.3f} s, "
                    f"{figure.first_call_modules} modules (load {figure.load:.1f})"
                )
    print()
    for name, _, artifacts in columns:
        sizes = ", ".join(
            f"{a.path.name} {a.size / 1e6:.2f} MB"
            for a in (artifacts.handlers, artifacts.core_layer, artifacts.dependencies_layer)
            if a is not None
        )
        print(f"{name}: {sizes}")
    print()
    for name, figures, _ in columns:
        for handler in handlers:
            print(f"{name} {handler} loads: {', '.join(figures[handler].heavy) or '-'}")


if __name__ == "__main__":
    main()

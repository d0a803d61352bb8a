"""``chorus model``: package a model for a SageMaker endpoint, or serve it locally the same way.

``package`` writes the reproducible ``model.tar.gz`` (model files + ``code/inference.py`` +
``code/requirements.txt``) that the ModelHost component uploads; ``serve`` runs that same
``inference.py`` behind the SageMaker container HTTP contract, so the runtime's SageMaker
adapters can be pointed at it (``endpoint_url``) with no AWS account.

Example::

    chorus model package --kind embedding --model ./models/e5-small --out build/model.tar.gz
    chorus model serve embedding --model ./models/e5-small \\
        --env CHORUS_QUERY_PREFIX="query: " --env CHORUS_PASSAGE_PREFIX="passage: "
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import click

# model_images is a sibling package of runtime inside the ``chorus`` distribution, so it is
# imported by its installed name (a relative import cannot leave ``runtime``).
from chorus.model_images.packaging import KINDS, inference_code_dir, write_model_archive

MODEL_DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@click.group("model")
def model() -> None:
    """Package and serve the SageMaker models (embedding, cross-encoder)."""


@model.command("package")
@click.option("--kind", type=click.Choice(sorted(KINDS)), required=True, help="Which model.")
@click.option("--model", "model_dir", type=MODEL_DIR, required=True, help="Model folder.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("model.tar.gz"),
    show_default=True,
    help="Archive to write.",
)
def package(kind: str, model_dir: Path, out: Path) -> None:
    """Write the model.tar.gz a SageMaker Hugging Face endpoint loads."""
    try:
        path = write_model_archive(model_dir, inference_code_dir(kind), out)
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    click.echo(f"wrote {path} ({path.stat().st_size} bytes, sha256 {digest})")


def _parse_env(pairs: tuple[str, ...]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--env")
        env[key] = value
    return env


@model.command("serve")
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@click.option("--model", "model_dir", type=MODEL_DIR, required=True, help="Model folder.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option(
    "--env",
    "env_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Container environment for inference.py, e.g. CHORUS_BATCH_SIZE=16 (repeatable).",
)
def serve(kind: str, model_dir: Path, host: str, port: int, env_pairs: tuple[str, ...]) -> None:
    """Serve a model behind the SageMaker container contract (GET /ping, POST /invocations)."""
    import uvicorn

    from ..local.sagemaker_container import ModelServer, create_app

    # inference.py reads its settings from the environment, as in the SageMaker container.
    os.environ.update(_parse_env(env_pairs))
    server = ModelServer.load(inference_code_dir(kind) / "inference.py", model_dir)
    click.echo(f"serving {kind} model {model_dir} on http://{host}:{port} (POST /invocations)")
    uvicorn.run(create_app(server), host=host, port=port, log_level="info")

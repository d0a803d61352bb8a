"""chorus's components as a Pulumi component provider, for TypeScript, Go, C#, Java and YAML.

The Pulumi SDK's ``pulumi.provider.experimental`` infers a package schema from the components'
annotations (the Args ``TypedDict`` for inputs, the class annotations for outputs, the
attribute docstrings for descriptions). chorus's annotations carry more than that analyzer
reads, so ``ChorusAnalyzer`` maps them first:

- string annotations (``from __future__ import annotations``) are resolved with
  ``typing.get_type_hints``;
- ``Annotated[T, bounds]`` becomes ``T`` and ``Literal["a", "b"]`` its value type (the component
  checks bounds and values when it is constructed, whatever the language);
- an asset-or-archive input becomes an asset, a ``(service, arn)`` pair a list of strings;
- a provider input (``Frontend.waf_provider``) is left out: other languages pass a provider
  through resource options.

``infra/__main__.py`` and ``infra/PulumiPlugin.yaml`` make ``infra/`` the plugin folder:
``pulumi package add ./infra`` (docs/infrastructure.md, "Other Pulumi languages").
"""

from __future__ import annotations

import inspect
import json
import sys
import types
import typing
from collections.abc import Sequence
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import pulumi
from pulumi.provider.experimental.analyzer import Analyzer, ComponentDefinition
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.schema import generate_schema
from pulumi.provider.experimental.util import camel_case
from pulumi.resource import ComponentResource, Resource

from . import (
    alarms,
    auth,
    bulk_ingestion,
    chat_apis,
    chat_messaging,
    chat_tables,
    dashboard,
    deployments,
    frontend,
    function,
    model_host,
    network,
    orchestrator,
    queues,
    scheduled_evaluation,
    shared,
    vector_store,
    workflows,
)

PACKAGE = "chorus"
VERSION = "0.1.0"

COMPONENTS: list[type[ComponentResource]] = [
    network.Network,
    auth.Auth,
    shared.Shared,
    shared.AppConfig,
    model_host.ModelHost,
    vector_store.VectorStore,
    orchestrator.ChatOrchestrator,
    frontend.Frontend,
    function.LambdaFunction,
    queues.QueueWithDlq,
    queues.DeadLetterQueue,
    chat_tables.ChatTables,
    chat_messaging.ChatMessaging,
    chat_apis.WebSocketApi,
    chat_apis.HttpApi,
    workflows.ChatWorkflows,
    bulk_ingestion.BulkIngestion,
    alarms.ChatAlarms,
    dashboard.Dashboard,
    deployments.LambdaDeployments,
    scheduled_evaluation.ScheduledEvaluation,
]
"""Every component the provider offers (``chorus:index:<Name>``)."""

_T = TypeVar("_T")
_LOCALS = {"Output": pulumi.Output, "T": _T}


def _own_annotations(cls: type) -> dict[str, Any]:
    """A class's own annotations, evaluated in its module (not its bases': pulumi's own
    ``Resource`` annotations name types its module does not export)."""
    namespace = {**vars(sys.modules[cls.__module__]), **_LOCALS}

    def evaluate(value: Any) -> Any:
        if isinstance(value, typing.ForwardRef):  # a TypedDict keeps string annotations so
            value = value.__forward_arg__
        return eval(value, namespace) if isinstance(value, str) else value

    return {key: evaluate(value) for key, value in inspect.get_annotations(cls).items()}


def _is_provider(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, pulumi.ProviderResource)


def schema_type(tp: Any) -> Any:
    """``tp`` in the terms the SDK's analyzer understands (see the module docstring)."""
    origin = get_origin(tp)
    if origin is Annotated:
        return schema_type(get_args(tp)[0])
    if origin is Literal:
        values = get_args(tp)
        return type(values[0]) if values else str
    if origin in (Union, types.UnionType):
        arms = get_args(tp)
        if pulumi.Asset in arms and pulumi.Archive in arms:
            return pulumi.Asset  # an asset or an archive: the schema's Asset takes both
        mapped = tuple(schema_type(a) for a in arms)
        if pulumi.Asset in mapped and str in mapped:
            # pulumi.Input[str] | pulumi.Asset (a model archive): an S3 URL across languages
            mapped = tuple(a for a in mapped if a is not pulumi.Asset)
        return Union[mapped]  # noqa: UP007 (a runtime Union of a tuple of types)
    if origin is tuple:
        return list[str]
    args = get_args(tp)
    if origin is not None and args:
        mapped_args = tuple(schema_type(a) for a in args)
        try:
            return origin[mapped_args] if len(mapped_args) > 1 else origin[mapped_args[0]]
        except TypeError:
            return tp
    return tp


class ChorusAnalyzer(Analyzer):
    """The SDK's analyzer, fed resolved and simplified annotations."""

    def analyze_component(self, component: type[ComponentResource]) -> ComponentDefinition:
        hints = typing.get_type_hints(component.__init__, localns=_LOCALS)
        args_type = hints["args"]
        if get_origin(args_type) in (Union, types.UnionType):  # ``XArgs | None``
            args_type = next(a for a in get_args(args_type) if a is not type(None))
        inputs, inputs_mapping = self.analyze_type(args_type, is_component_output=False)
        outputs, outputs_mapping = self.analyze_type(component, is_component_output=True)
        return ComponentDefinition(
            name=component.__name__,
            description=component.__doc__.strip() if component.__doc__ else None,
            inputs=inputs,
            inputs_mapping=inputs_mapping,
            outputs=outputs,
            outputs_mapping=outputs_mapping,
            module=component.__module__,
        )

    def analyze_type(self, typ: type, *, is_component_output: bool):
        annotations: dict[str, Any] = {}
        optional_keys: set[str] = set()
        for cls in reversed(typ.__mro__):
            if cls in (object, Resource, ComponentResource, dict) or cls.__module__ == "typing":
                continue
            annotations.update(_own_annotations(cls))
            if typing.is_typeddict(cls):
                optional_keys.update(getattr(cls, "__optional_keys__", ()))
        annotations = {
            k: v for k, v in annotations.items() if not k.startswith("_") and not _is_provider(v)
        }
        properties = {}
        for key, annotation in annotations.items():
            prop = self.analyze_property(
                schema_type(annotation),
                typ,
                key,
                can_be_plain=not is_component_output,
                is_component_output=is_component_output,
                optional=True if key in optional_keys else None,
            )
            choices = literal_values(annotation)
            if choices:
                allowed = "One of: " + ", ".join(f"``{c}``" for c in choices) + "."
                prop.description = f"{prop.description or ''}\n{allowed}".strip()
            properties[camel_case(key)] = prop
        return properties, {camel_case(k): k for k in annotations}


def literal_values(tp: Any) -> tuple[Any, ...]:
    """The values a ``Literal`` anywhere in ``tp`` allows (``Sequence[Literal[...]]`` too)."""
    if get_origin(tp) is Literal:
        return get_args(tp)
    for arg in get_args(tp):
        found = literal_values(arg)
        if found:
            return found
    return ()


class ChorusComponentProvider(ComponentProvider):
    """``ComponentProvider`` whose schema comes from ``ChorusAnalyzer``."""

    def __init__(
        self,
        components: Sequence[type[ComponentResource]] = COMPONENTS,
        name: str = PACKAGE,
        version: str = VERSION,
    ) -> None:
        self._name = name
        self.analyzer = ChorusAnalyzer(name)
        result = self.analyzer.analyze(list(components))
        self._components = {component.__name__: component for component in components}
        self._component_defs = result["component_definitions"]
        self._type_defs = result["type_definitions"]
        self._external_enum_types = result["external_enum_types"]
        self._dependencies = sorted(result["dependencies"], key=lambda d: f"{d.name}{d.version}")
        package = generate_schema(
            name, version, None, self._component_defs, self._type_defs, self._dependencies
        )
        pulumi.provider.Provider.__init__(self, version, json.dumps(package.to_json()))


def schema() -> dict[str, Any]:
    """The package schema, built in-process (what ``pulumi package get-schema`` returns)."""
    return json.loads(ChorusComponentProvider().schema or "{}")


def main(args: Sequence[str] | None = None) -> None:
    """Serve the components to the Pulumi engine (the plugin's entry point)."""
    from pulumi.provider import main as serve

    serve(ChorusComponentProvider(), list(sys.argv[1:] if args is None else args))

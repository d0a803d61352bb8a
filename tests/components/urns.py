"""Resource identities as the Pulumi engine computes them, for checking that a refactoring
keeps every resource of an existing stack (no delete/create).

The mock monitor's URNs use only the parent's last type; the engine's use the parent's whole
type chain (``A$B$aws:...``). ``record_urns`` captures every registration (type, name, parent,
alias specs) and rebuilds the engine's URNs, each resource's alias URNs (explicit specs and
those inherited from its parents' aliases, as the engine derives them) included.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime.mocks import MockMonitor


@dataclass
class Registration:
    type: str
    name: str
    parent: str  # mock URN of the parent ("" for none)
    aliases: list[Any] = field(default_factory=list)  # alias_pb2.Alias


@contextlib.contextmanager
def record_registrations() -> Iterator[list[Registration]]:
    found: list[Registration] = []
    original = MockMonitor.RegisterResource

    def register(self, request):
        found.append(Registration(request.type, request.name, request.parent,
                                  list(request.aliases)))  # fmt: skip
        return original(self, request)

    MockMonitor.RegisterResource = register  # type: ignore[method-assign]
    try:
        yield found
    finally:
        MockMonitor.RegisterResource = original  # type: ignore[method-assign]


def _mock_urn(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    if parent:
        type_ = parent.split("::")[2].split("$")[-1] + "$" + type_
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def engine_urns(
    found: list[Registration], stack: str, project: str = "chorus"
) -> dict[str, set[str]]:
    """Engine URN of every resource → the URNs it answers to (itself and its aliases)."""
    by_mock = {_mock_urn(stack, project, r.parent, r.type, r.name): r for r in found}
    chains: dict[str, str] = {}

    def chain(mock_urn: str) -> str:
        """The engine's qualified type of a resource (its parents' types joined by $)."""
        if mock_urn not in chains:
            r = by_mock[mock_urn]
            parent = r.parent if r.parent in by_mock else ""
            chains[mock_urn] = f"{chain(parent)}${r.type}" if parent else r.type
        return chains[mock_urn]

    def urn(qualified: str, name: str) -> str:
        return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"

    names: dict[str, set[str]] = {}

    def identities(mock_urn: str) -> set[str]:
        """Qualified-type::name pairs a resource answers to."""
        if mock_urn in names:
            return names[mock_urn]
        r = by_mock[mock_urn]
        parent = r.parent if r.parent in by_mock else ""
        parent_chains = {p.split("::")[0] for p in identities(parent)} if parent else {""}
        own = {f"{(c + '$') if c else ''}{r.type}::{r.name}" for c in parent_chains}
        for alias in r.aliases:
            spec = alias.spec
            alias_name = spec.name or r.name
            alias_type = spec.type or r.type
            if spec.noParent:
                own.add(f"{alias_type}::{alias_name}")
            elif spec.parentUrn:
                alias_parent = spec.parentUrn
                for c in {p.split("::")[0] for p in identities(alias_parent)}:
                    own.add(f"{c}${alias_type}::{alias_name}")
        names[mock_urn] = own
        return own

    result: dict[str, set[str]] = {}
    for mock_urn in by_mock:
        current = urn(chain(mock_urn), by_mock[mock_urn].name)
        result[current] = {urn(*pair.split("::")) for pair in identities(mock_urn)}
    return result


def deploy_recording(program: Callable[[], Any], stack: str) -> dict[str, set[str]]:
    from .conftest import deploy

    with record_registrations() as found:
        deploy(program, stack=stack)
    return engine_urns([r for r in found if r.type != "pulumi:pulumi:Stack"], stack)


__all__ = ["deploy_recording", "engine_urns", "record_registrations"]

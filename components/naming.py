"""Physical names that differ between stacks, so two stacks (or two projects) share an account.

Most chorus resources are auto-named by Pulumi (a random suffix). The few AWS makes us name —
a KMS alias, an SSM parameter, CloudFront policies and functions, OpenSearch collections and
policies, a WAF web ACL, a layer, a Kendra index, a final snapshot — go through
``physical_name``: ``<project>-<stack>-<component>-<suffix>``, cut to the service's limit with a
hash of the full name so a cut name stays unique.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import pulumi


def stack_prefix() -> str:
    """``<project>-<stack>`` of the program being run."""
    return f"{pulumi.get_project()}-{pulumi.get_stack()}"


def physical_name(
    *parts: str, max_length: int = 63, lower: bool = False, allowed: str = r"A-Za-z0-9-"
) -> str:
    """``<project>-<stack>-<parts...>`` with characters outside ``allowed`` turned into ``-``.

    Longer than ``max_length``: cut, then ``-<8 hex digits>`` of the full name appended.
    """
    full = "-".join([stack_prefix(), *parts])
    if lower:
        full = full.lower()
    full = re.sub(f"[^{allowed}]", "-", full)
    full = re.sub("-{2,}", "-", full).strip("-")
    if len(full) <= max_length:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return f"{full[: max_length - 9].rstrip('-')}-{digest}"


def parameter_path(*parts: str) -> str:
    """An SSM parameter name under ``/<project>/<stack>/``."""
    return "/" + "/".join([pulumi.get_project(), pulumi.get_stack(), *parts])


def tagged(
    opts: pulumi.ResourceOptions | None, tags: Mapping[str, str] | None
) -> pulumi.ResourceOptions | None:
    """``opts`` of a component whose children, at any depth, get ``tags``.

    A resource transformation (inherited by every child of the component) merges ``tags`` under
    the child's own tags (the child's win, e.g. ``Name``); resources without a ``tags`` input
    (policies, routes, integrations...) are left alone. AWS provider default tags
    (``aws:defaultTags``) come on top at deploy time.
    """
    if not tags:
        return opts
    own_tags = dict(tags)

    def add_tags(args: pulumi.ResourceTransformationArgs):
        if not isinstance(args.resource, pulumi.CustomResource) or "tags" not in args.props:
            return None
        current = args.props.get("tags")
        if current is None:
            merged: Any = dict(own_tags)
        elif isinstance(current, Mapping):
            merged = {**own_tags, **current}
        else:
            merged = pulumi.Output.from_input(current).apply(
                lambda value: {**own_tags, **(value or {})}
            )
        return pulumi.ResourceTransformationResult({**args.props, "tags": merged}, args.opts)

    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(transformations=[add_tags]))


def moved_under(old_parent: pulumi.Resource) -> pulumi.ResourceOptions:
    """Options for a component newly placed under ``old_parent`` whose children used to be
    ``old_parent``'s own (a constructor split into smaller components).

    Each direct child gets ``Alias(parent=old_parent)``, so its old URN still names it and
    ``pulumi up`` updates it in place; grandchildren inherit their parent's alias (the engine
    derives child aliases from the parent's). Resource names do not change.
    """
    component: list[pulumi.Resource] = []

    def alias_direct_children(args: pulumi.ResourceTransformationArgs):
        if not component:  # the first resource seen is the component itself
            component.append(args.resource)
            return None
        if args.opts.parent is not component[0]:
            return None
        moved = pulumi.ResourceOptions(aliases=[pulumi.Alias(parent=old_parent)])
        return pulumi.ResourceTransformationResult(
            args.props, pulumi.ResourceOptions.merge(args.opts, moved)
        )

    return pulumi.ResourceOptions(parent=old_parent, transformations=[alias_direct_children])


def publish(component: pulumi.ComponentResource, outputs: Mapping[str, Any]) -> None:
    """Set each output as an attribute of ``component`` (plain values and None become
    Outputs) and register them all: one declaration instead of two lists kept in step."""
    published = {key: pulumi.Output.from_input(value) for key, value in outputs.items()}
    for key, value in published.items():
        setattr(component, key, value)
    component.register_outputs(published)

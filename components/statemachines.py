"""ASL definitions from files, with ``${Name}`` placeholders replaced by deploy-time values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pulumi

PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")
"""``${Name}``; JSONPath (``$.x``) and context paths (``$$.Map``) are left alone."""


def placeholders(template: str) -> set[str]:
    """Names a definition expects."""
    return set(PLACEHOLDER.findall(template))


def substitute(template: str, values: Mapping[str, str]) -> str:
    """Replace every placeholder; a missing or unused value is an error, not a silent typo."""
    missing = placeholders(template) - set(values)
    unused = set(values) - placeholders(template)
    if missing or unused:
        raise ValueError(
            f"ASL placeholders do not match: missing values for {sorted(missing)}, "
            f"values for unknown placeholders {sorted(unused)}"
        )
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def definition(path: str | Path, values: Mapping[str, pulumi.Input[str]]) -> pulumi.Output[str]:
    """Read an ASL file and substitute ``values`` (which may be Outputs) once they resolve."""
    template = Path(path).read_text(encoding="utf-8")
    names = sorted(values)
    return pulumi.Output.all(*[values[n] for n in names]).apply(
        lambda resolved: substitute(template, dict(zip(names, resolved, strict=True)))
    )

"""Checks a component's Args when it is constructed, so a bad input fails at preview by name.

Every component calls ``check_args`` first. It reads the Args ``TypedDict``'s annotations (the
same ones ``components.provider`` turns into a schema) and refuses, in one ``ComponentInputError``:

- a key the Args do not declare (``nat_gateway`` for ``nat_gateways``: with a suggestion);
- a plain value of the wrong type (``"2"`` for an int), outside an ``Annotated`` range from
  ``components.rules``, or not one of a ``Literal``'s values;
- a missing required input, and the component's cross-field rules (``Rule``).

Values that are still ``pulumi.Output`` (or other awaitables) are not known at preview and are
not checked here; the resources that receive them check them at deploy time.
"""

from __future__ import annotations

import collections.abc as abc
import difflib
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import annotated_types as at
import pulumi

Rule = Callable[[Mapping[str, Any]], "str | None"]
"""A cross-field rule: the plain args (unknown Outputs left out) → a problem, or None."""

_T = TypeVar("_T")
ArgsT = TypeVar("ArgsT")


class ComponentInputError(ValueError):
    """A component input is unknown, of the wrong type, out of range or inconsistent.

    ``code`` is stable (``component_input_invalid``); ``problems`` lists each one, naming the
    key and what is allowed."""

    code = "component_input_invalid"

    def __init__(self, component: str, name: str, problems: Sequence[str]) -> None:
        self.component = component
        self.resource_name = name
        self.problems = list(problems)
        super().__init__(f"{component} {name!r}: " + "; ".join(self.problems))


def is_unknown(value: Any) -> bool:
    """True for values only known at deploy time (Outputs, awaitables, resources)."""
    return isinstance(value, pulumi.Output | pulumi.Resource) or inspect.isawaitable(value)


def known(args: Mapping[str, Any], *keys: str) -> bool:
    """Whether every key is set to a plain (checkable) value."""
    return all(args.get(k) is not None and not is_unknown(args.get(k)) for k in keys)


def hints(args_type: type) -> dict[str, Any]:
    """The Args' annotations, resolved (``pulumi.Input`` refers to ``Output`` by name)."""
    return typing.get_type_hints(
        args_type, localns={"Output": pulumi.Output, "T": _T}, include_extras=True
    )


def check_args(
    component: str,
    name: str,
    args_type: type[ArgsT],
    args: ArgsT | Mapping[str, Any] | None,
    *,
    required: Sequence[str] = (),
    rules: Sequence[Rule] = (),
) -> ArgsT:
    """Validate ``args`` against ``args_type``; returns them (a copy) typed as the Args.

    Raises
    ------
    ComponentInputError: listing every problem (``'nat_gateway' is not an input of Network; did
    you mean 'nat_gateways'? ...``).
    """
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        raise ComponentInputError(
            component, name, [f"args must be a dict of {args_type.__name__}, got {args!r}"]
        )
    problems = _mapping_problems(component, args_type, args, prefix="")
    problems += [f"{key!r} is required" for key in required if args.get(key) is None]
    if not problems:
        for rule in rules:
            problem = rule(args)
            if problem:
                problems.append(problem)
    if problems:
        raise ComponentInputError(component, name, problems)
    return typing.cast(ArgsT, dict(args))


def _mapping_problems(
    owner: str, args_type: type, args: Mapping[str, Any], *, prefix: str
) -> list[str]:
    declared = hints(args_type)
    problems: list[str] = []
    for key, value in args.items():
        path = f"{prefix}{key}"
        if key not in declared:
            close = difflib.get_close_matches(str(key), declared, n=1, cutoff=0.7)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                f"{path!r} is not an input of {owner}{hint} (inputs: {', '.join(declared)})"
            )
            continue
        if value is None:
            continue  # None means "the default"
        problem = _value_problem(value, declared[key], path)
        if problem:
            problems.append(problem)
    return problems


def _value_problem(value: Any, tp: Any, path: str) -> str | None:
    """Why ``value`` does not fit ``tp`` (None when it does or cannot be known yet)."""
    if is_unknown(value) or tp is Any:
        return None
    origin = get_origin(tp)
    if origin is Annotated:
        base, *metadata = get_args(tp)
        return _value_problem(value, base, path) or _constraint_problem(value, metadata, path)
    if origin in (Union, types.UnionType):
        arms = [a for a in get_args(tp) if _is_plain_arm(a)]
        if not arms:
            return None
        found = [_value_problem(value, arm, path) for arm in arms]
        if any(p is None for p in found):
            return None
        return found[0] if len(arms) == 1 else f"{path!r} must be {_describe(tp)}, got {value!r}"
    if origin is Literal:
        allowed = get_args(tp)
        if value in allowed and type(value) in {type(a) for a in allowed}:
            return None
        return f"{path!r} must be one of {', '.join(map(repr, allowed))}; got {value!r}"
    if tp is bool:
        return None if isinstance(value, bool) else _wrong(path, "a bool", value)
    if tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else _wrong(path, "an int", value)
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else _wrong(path, "a number", value)
    if tp is str:
        return None if isinstance(value, str) else _wrong(path, "a string", value)
    if typing.is_typeddict(tp):
        if not isinstance(value, Mapping):
            return _wrong(path, f"a dict of {tp.__name__}", value)
        problems = _mapping_problems(tp.__name__, tp, value, prefix=f"{path}.")
        return "; ".join(problems) or None
    if origin in (abc.Sequence, list, abc.MutableSequence):
        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            return _wrong(path, "a list", value)
        (item,) = get_args(tp) or (Any,)
        for i, element in enumerate(value):
            problem = _value_problem(element, item, f"{path}[{i}]")
            if problem:
                return problem
        return None
    if origin is tuple:
        if not isinstance(value, tuple | list):
            return _wrong(path, "a pair", value)
        items = get_args(tp)
        if len(items) != len(value):
            return _wrong(path, f"{len(items)} items", value)
        for i, (element, item) in enumerate(zip(value, items, strict=True)):
            problem = _value_problem(element, item, f"{path}[{i}]")
            if problem:
                return problem
        return None
    if origin in (abc.Mapping, dict, abc.MutableMapping):
        if not isinstance(value, Mapping):
            return _wrong(path, "a dict", value)
        key_type, value_type = get_args(tp) or (Any, Any)
        for key, element in value.items():
            problem = _value_problem(key, key_type, f"{path} key") or _value_problem(
                element, value_type, f"{path}[{key!r}]"
            )
            if problem:
                return problem
        return None
    if isinstance(tp, type):
        return None if isinstance(value, tp) else _wrong(path, f"a {tp.__name__}", value)
    return None


def _is_plain_arm(tp: Any) -> bool:
    """Union arms a plain value can match (not ``Awaitable[T]`` / ``Output[T]``)."""
    origin = get_origin(tp) or tp
    return origin not in (abc.Awaitable, pulumi.Output) and not isinstance(tp, typing.ForwardRef)


def _constraint_problem(value: Any, metadata: Sequence[Any], path: str) -> str | None:
    for meta in metadata:
        if isinstance(meta, at.MinLen) and len(value) < meta.min_length:
            return f"{path!r} must have at least {meta.min_length} characters; got {value!r}"
        if isinstance(meta, at.Interval) and not _within(value, meta):
            return f"{path!r} must be {_range(meta)}; got {value!r}"
    return None


def _within(value: Any, interval: at.Interval) -> bool:
    return (
        (interval.ge is None or value >= interval.ge)
        and (interval.le is None or value <= interval.le)
        and (interval.gt is None or value > interval.gt)
        and (interval.lt is None or value < interval.lt)
    )


def _range(interval: at.Interval) -> str:
    low = (
        f">= {interval.ge}"
        if interval.ge is not None
        else (f"> {interval.gt}" if interval.gt is not None else "")
    )
    high = (
        f"<= {interval.le}"
        if interval.le is not None
        else (f"< {interval.lt}" if interval.lt is not None else "")
    )
    if interval.ge is not None and interval.le is not None:
        return f"between {interval.ge} and {interval.le}"
    return " and ".join(p for p in (low, high) if p)


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Annotated:
        return _describe(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp) if _is_plain_arm(a))
    if origin is Literal:
        return "one of " + ", ".join(map(repr, get_args(tp)))
    return getattr(tp, "__name__", str(tp))


def _wrong(path: str, expected: str, value: Any) -> str:
    return f"{path!r} must be {expected}; got {type(value).__name__} {value!r}"


def rule(check: Callable[..., str | None], *keys: str, label: str | None = None) -> Rule:
    """A ``Rule`` calling ``check(*values)`` when every key has a plain value (defaults are
    not filled in: pass them in the component's own rule when needed)."""

    def apply(args: Mapping[str, Any]) -> str | None:
        if not known(args, *keys):
            return None
        problem = check(*(args[k] for k in keys))
        if problem is None:
            return None
        return f"{label or ', '.join(repr(k) for k in keys)}: {problem}"

    return apply

"""User settings of plain Python types (agent ``--hp``, a grid's ``hp``, ``reproduce``
options) checked against their annotations, so a wrong value is named, not crashed on."""

from __future__ import annotations

import types
import typing
from typing import Any

_MISFIT = object()


def typed(name: str, value: Any, annotation: Any) -> Any:
    """``value`` if it fits ``annotation`` (tuples from lists, floats from ints).

    Raises:
        ValueError: ``"<name> = <value> must be <type>"``.
    """
    options = (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else (annotation,)
    )
    for option in options:
        fitted = _fit(value, option)
        if fitted is not _MISFIT:
            return fitted
    wanted = " or ".join(getattr(o, "__name__", str(o)) for o in options).replace(
        "NoneType", "None"
    )
    raise ValueError(f"{name} = {value!r} must be {wanted}")


def _fit(value: Any, option: Any) -> Any:
    if option is type(None):
        return None if value is None else _MISFIT
    if option is bool:
        return value if isinstance(value, bool) else _MISFIT
    if option is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else _MISFIT
    if option is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else _MISFIT
    if option is str:
        return value if isinstance(value, str) else _MISFIT
    origin, args = typing.get_origin(option), typing.get_args(option)
    if origin is tuple and isinstance(value, list | tuple):
        items = [_fit(v, args[0]) for v in value]
        return _MISFIT if any(i is _MISFIT for i in items) else tuple(items)
    if origin is dict and isinstance(value, dict):
        items = {k: _fit(v, args[1]) for k, v in value.items()}
        ok = all(isinstance(k, str) for k in items) and _MISFIT not in items.values()
        return items if ok else _MISFIT
    if origin is list and isinstance(value, list | tuple):
        items = [_fit(v, args[0]) for v in value]
        return _MISFIT if any(i is _MISFIT for i in items) else items
    return _MISFIT

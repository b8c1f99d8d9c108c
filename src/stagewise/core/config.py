"""Problem configuration: loading from JSON/YAML into validated pydantic models.

Every problem declares a :class:`ProblemConfig` subclass. :func:`load_config`
accepts nothing (the defaults), a dict, a model instance or a file path, plus
keyword overrides, and either returns a validated model or raises one
:class:`ConfigError` listing each bad field with its path, value and file.
"""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

ConfigT = TypeVar("ConfigT", bound="ProblemConfig")


class ProblemConfig(BaseModel):
    """Base of every problem configuration: unknown fields are errors, values immutable."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """A numeric field refuses ``True`` and ``"3"`` (pydantic would read them as 1 and 3)."""
        if info.field_name is None or not _is_number_field(cls.model_fields[info.field_name]):
            return value
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is a boolean, not a number")
        if isinstance(value, str):
            raise ValueError(f"{value!r} is a string, not a number")
        return value


class ConfigError(ValueError):
    """A configuration that cannot be used; lists every offending field."""

    def __init__(self, problems: list[str], source: str | None = None):
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        body = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration{where}:\n{body}")


def _is_number_field(field: Any) -> bool:
    """Whether the field's type is ``int``/``float``, optionally ``| None``."""
    annotation = field.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
    else:
        args = [annotation]
    return bool(args) and all(a in (int, float) for a in args)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a JSON or YAML file into a dict (by suffix; ``.yml``/``.yaml`` are YAML)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([f"file not found: {path}"], str(path))
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) if path.suffix in {".yml", ".yaml"} else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ConfigError([f"cannot parse: {err}"], str(path)) from err
    if not isinstance(data, dict):
        raise ConfigError([f"top level must be a mapping, got {type(data).__name__}"], str(path))
    return data


def unwrap_published(data: dict[str, Any], ignored: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of a published SafeOR-Gym file (``{"env_init_cfgs": {...}}``, the wrapper
    read through) or of a flat dict, without the ``ignored`` keys (fields the published
    code carries that no formula uses)."""
    inner = data.get("env_init_cfgs")
    flat = {**data, **inner} if isinstance(inner, dict) else dict(data)
    for key in ("env_init_cfgs", *ignored):
        flat.pop(key, None)
    return flat


def load_config(
    model: type[ConfigT],
    source: str | Path | dict[str, Any] | ProblemConfig | None = None,
    overrides: dict[str, Any] | None = None,
) -> ConfigT:
    """Build a validated ``model`` from ``source`` with ``overrides`` applied on top."""
    origin: str | None = None
    if source is None:
        data: dict[str, Any] = {}
    elif isinstance(source, ProblemConfig):
        if not isinstance(source, model):
            raise ConfigError(
                [f"expected a {model.__name__}, got a {type(source).__name__}"], origin
            )
        data = source.model_dump()
    elif isinstance(source, dict):
        data = dict(source)
    elif isinstance(source, str | Path):
        origin = str(source)
        data = read_config_file(source)
    else:
        raise ConfigError([f"config must be a path, dict or {model.__name__}, got {source!r}"])
    data.update(overrides or {})
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(err), origin) from None


def _describe(err: ValidationError) -> list[str]:
    lines = []
    for e in err.errors():
        path = ".".join(str(p) for p in e["loc"]) or "<root>"
        value = e.get("input")
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        lines.append(f"{path} = {shown}: {e['msg']}")
    return lines


def config_fields(model: type[ProblemConfig]) -> list[tuple[str, str, Any, str]]:
    """(name, type, default, description) of each field, for ``stagewise info``."""
    rows = []
    for name, field in model.model_fields.items():
        default = (
            "(required)" if field.is_required() else field.get_default(call_default_factory=True)
        )
        rows.append((name, _type_name(field.annotation), default, field.description or ""))
    return rows


def _type_name(annotation: Any) -> str:
    """A type as a user reads it: ``int``, ``'a' | 'b'`` (a Literal), ``float | None``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if annotation is type(None):
        return "None"
    if origin is not None:
        inner = ", ".join("..." if a is Ellipsis else _type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    return getattr(annotation, "__name__", str(annotation))

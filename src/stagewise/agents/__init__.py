"""Learning agents. Each agent module exposes a config dataclass, ``train`` and ``load_policy``.

Agents never import a problem: they see Gymnasium spaces and ``info["cost"]`` /
``info["costs"]``. :data:`AGENTS` maps CLI names to import paths of
:class:`AgentSpec` objects so that importing this package imports no torch code.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any

from stagewise.core.registry import load_object

# name -> "module:SPEC"; each module defines SPEC = AgentSpec(...)
AGENTS: dict[str, str] = {
    "dqn": "stagewise.agents.dqn:SPEC",
    "ppo": "stagewise.agents.ppo:SPEC",
    "ppo-lag": "stagewise.agents.ppo_lag:SPEC",
    "trpo-lag": "stagewise.agents.trpo_lag:SPEC",
    "cpo": "stagewise.agents.cpo:SPEC",
    "crpo": "stagewise.agents.crpo:SPEC",
    "p3o": "stagewise.agents.p3o:SPEC",
    "ddpg": "stagewise.agents.ddpg:SPEC",
    "ddpg-lag": "stagewise.agents.ddpg_lag:SPEC",
    "dah-ddpg": "stagewise.agents.dah_ddpg:SPEC",
}


@dataclass(frozen=True)
class AgentSpec:
    """How the CLI and the benchmark drive an agent.

    Attributes:
        name: CLI name (``dqn``).
        config: dataclass of hyper-parameters (every field has a default and a docstring
            line); it checks its values on construction or in a ``check()`` method.
        train: ``train(env_fn, cfg, run_dir) -> Policy``; resumes from ``run_dir`` if a
            checkpoint is there.
        load_policy: ``load_policy(run_dir) -> Policy`` for a finished run.
        action_mode: the action mode the agent needs (``box``, ``discrete``, ``hybrid``).
        constrained: whether the agent holds a cost limit (a safe agent); an unconstrained
            one ignores ``cost_limit`` even where its config carries the field.
    """

    name: str
    config: type
    train: Any
    load_policy: Any
    action_mode: str = "box"
    constrained: bool = True

    def settings(self, values: dict[str, Any]) -> Any:
        """The agent's config dataclass from ``values``, every value checked against its type.

        Raises:
            ValueError: one message naming each unknown setting (with the valid ones) or
                the setting whose value has the wrong type, or the config's own check.
        """
        hints = typing.get_type_hints(self.config)
        known = [f.name for f in dataclasses.fields(self.config)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(
                f"agent {self.name} has no setting(s) {', '.join(unknown)}; "
                f"its settings are {', '.join(sorted(known))}"
            )
        checked = {
            name: _typed(self.name, name, value, hints[name]) for name, value in values.items()
        }
        try:
            settings = self.config(**checked)
            if hasattr(settings, "check"):
                settings.check()
        except (TypeError, ValueError) as err:
            raise ValueError(f"agent {self.name}: {err}") from None
        return settings


def _typed(agent: str, name: str, value: Any, annotation: Any) -> Any:
    """``value`` if it fits ``annotation`` (tuples from lists); else a ValueError naming it."""
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
    raise ValueError(f"agent {agent}: setting {name} = {value!r} must be {wanted}")


_MISFIT = object()


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


def get_agent(name: str) -> AgentSpec:
    if name not in AGENTS:
        raise KeyError(f"unknown agent {name!r}; available: {', '.join(sorted(AGENTS))}")
    return load_object(AGENTS[name])

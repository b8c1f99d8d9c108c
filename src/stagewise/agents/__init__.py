"""Learning agents. Each agent module exposes a config dataclass, ``train`` and ``load_policy``.

Agents never import a problem: they see Gymnasium spaces and ``info["cost"]`` /
``info["costs"]``. :data:`AGENTS` maps CLI names to import paths of
:class:`AgentSpec` objects so that importing this package imports no torch code.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from stagewise.core.registry import load_object
from stagewise.core.typed import typed

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
            name: typed(f"agent {self.name}: setting {name}", value, hints[name])
            for name, value in values.items()
        }
        try:
            settings = self.config(**checked)
            if hasattr(settings, "check"):
                settings.check()
        except (TypeError, ValueError) as err:
            raise ValueError(f"agent {self.name}: {err}") from None
        return settings


def get_agent(name: str) -> AgentSpec:
    if name not in AGENTS:
        raise KeyError(f"unknown agent {name!r}; available: {', '.join(sorted(AGENTS))}")
    return load_object(AGENTS[name])

"""Per-problem defaults of the learning agents, read from ``defaults.yaml``.

:func:`problem_defaults` is what the CLI and the benchmark grids call to fill in
an agent's settings for a problem; explicit settings win over it. Each entry of
the YAML file carries the reason for its value (:func:`explain` returns them).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any

import yaml

ON_POLICY = ("ppo", "ppo-lag", "trpo-lag", "cpo", "crpo", "p3o")
OFF_POLICY = ("ddpg", "ddpg-lag")


@functools.cache
def _table() -> dict[str, Any]:
    text = resources.files("stagewise.agents").joinpath("defaults.yaml").read_text()
    return yaml.safe_load(text)


def _groups(agent: str) -> tuple[str, ...]:
    """The groups that apply to ``agent``; ``all`` means the safe-RL agents, not DQN or
    DAH-DDPG, whose settings of the same name (``reward_scale``) mean other things."""
    if agent in ON_POLICY:
        return ("all", "on-policy", agent)
    if agent in OFF_POLICY:
        return ("all", "off-policy", agent)
    return (agent,)


def _matches(when: Mapping[str, Any], config: Mapping[str, Any] | None) -> bool:
    return config is not None and all(config.get(k) == v for k, v in when.items())


def _entries(agent: str, problem: str, config: Mapping[str, Any] | None) -> dict[str, dict]:
    """``{setting: {value, why}}`` for ``agent`` on ``problem``, later layers winning."""
    table = _table()
    layers = [table.get("default", {})]
    if problem in table:
        entry = table[problem]
        layers.append(entry)
        layers += [v for v in entry.get("variants", []) if _matches(v.get("when", {}), config)]
    out: dict[str, dict] = {}
    for layer in layers:
        for group in _groups(agent):
            out.update(layer.get(group) or {})
    return out


def problem_defaults(
    agent: str, problem: str, config: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Settings of ``agent`` (CLI name) for ``problem`` (slug), as ``{field: value}``.

    ``config`` is the problem config as a dict (``cfg.model_dump()``); it selects the
    variant (UC ``variant``, GTEP ``transmission``). Only fields the agent's config has
    are returned, so the result can go straight into ``AgentSpec.settings`` (lists stay
    lists; ``settings`` turns them into tuples).
    """
    from stagewise.agents import get_agent

    fields = {f.name for f in dataclasses.fields(get_agent(agent).config)}
    return {k: v["value"] for k, v in _entries(agent, problem, config).items() if k in fields}


def explain(agent: str, problem: str, config: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The reason for each of :func:`problem_defaults`' settings."""
    values = problem_defaults(agent, problem, config)
    return {k: v["why"] for k, v in _entries(agent, problem, config).items() if k in values}

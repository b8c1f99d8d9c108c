"""Per-problem agent defaults: every entry has a reason, fits its agents and selects variants."""

from __future__ import annotations

import dataclasses

import pytest

from stagewise.agents import get_agent
from stagewise.agents.defaults import OFF_POLICY, ON_POLICY, _table, explain, problem_defaults

SAFE_AGENTS = (*ON_POLICY, *OFF_POLICY)
CASES = [
    ("gtep", None),
    ("gtep", {"transmission": False}),
    ("unit-commitment", {"variant": "v0"}),
    ("unit-commitment", {"variant": "v1"}),
    ("capacity-expansion", None),
]


def layers():
    for problem, entry in _table().items():
        yield problem, entry
        for variant in entry.get("variants", []):
            yield problem, variant


def test_every_setting_has_a_value_and_a_reason():
    for problem, layer in layers():
        for group, settings in layer.items():
            if group in ("variants", "when"):
                continue
            for name, entry in settings.items():
                assert set(entry) == {"value", "why"}, (problem, group, name)
                assert len(entry["why"]) > 20, (problem, group, name)


def test_every_setting_belongs_to_an_agent_of_its_group():
    members = {"all": SAFE_AGENTS, "on-policy": ON_POLICY, "off-policy": OFF_POLICY}
    for problem, layer in layers():
        for group, settings in layer.items():
            if group in ("variants", "when"):
                continue
            fields = set()
            for agent in members.get(group, (group,)):
                fields |= {f.name for f in dataclasses.fields(get_agent(agent).config)}
            unknown = set(settings) - fields
            assert not unknown, f"{problem}/{group}: {unknown} is no setting of {group}"


@pytest.mark.parametrize("agent", SAFE_AGENTS)
@pytest.mark.parametrize(("problem", "config"), CASES)
def test_defaults_are_valid_settings(agent, problem, config):
    values = problem_defaults(agent, problem, config)
    settings = get_agent(agent).settings(values)
    for name, value in values.items():
        expected = tuple(value) if isinstance(value, list) else value
        assert getattr(settings, name) == expected
    assert set(explain(agent, problem, config)) == set(values)


def test_variants_and_groups_are_selected():
    assert problem_defaults("ppo-lag", "unit-commitment", {"variant": "v0"})["cost_limit"] == 5.0
    assert problem_defaults("ppo-lag", "unit-commitment", {"variant": "v1"})["cost_limit"] == 1.0
    assert "recovery_radius" in problem_defaults("cpo", "gtep")
    assert "recovery_radius" not in problem_defaults("ppo-lag", "gtep")
    assert problem_defaults("ddpg-lag", "gtep")["num_envs"] == 32
    assert problem_defaults("ppo-lag", "gtep")["num_envs"] == 64
    # a problem without its own entry gets the common defaults only
    assert "reward_scale" not in problem_defaults("ppo-lag", "capacity-expansion")
    # DQN and DAH-DDPG have their own reward_scale; the safe-RL defaults leave them alone
    assert problem_defaults("dah-ddpg", "unit-commitment", {"variant": "v0"}) == {}
    assert problem_defaults("dqn", "gtep") == {}

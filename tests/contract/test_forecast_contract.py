"""Every problem with a stochastic variant (``uncertainty="forecast"``): the Gymnasium
contract holds, the scenario follows the seed, vector copies draw their own, and the
``mpc`` and ``clairvoyant`` policies are registered."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import stagewise
from stagewise.core.uncertainty import UncertaintyFields, scenario

FORECAST = [
    s for s in stagewise.problems() if issubclass(s.env_class().config_model, UncertaintyFields)
]
SMALL = {"asu": {"days": 2, "lookahead_days": 1}}


@pytest.fixture(params=FORECAST, ids=[s.slug for s in FORECAST])
def forecast_spec(request: pytest.FixtureRequest):
    return request.param


def make(spec, **extra):
    return spec.env_class()(
        uncertainty="forecast", error_sigma=0.1, **SMALL.get(spec.slug, {}), **extra
    )


def test_the_nine_safeor_problems_have_a_stochastic_variant():
    assert {s.slug for s in FORECAST} >= {
        "inventory",
        "unit-commitment",
        "gtep",
        "grid-storage",
        "rtn",
        "stn",
        "sched-maint",
        "blending",
        "asu",
    }


def test_forecast_variant_passes_the_gymnasium_checker(forecast_spec):
    env = make(forecast_spec)
    check_env(env, skip_render_check=True)
    assert {"mpc", "clairvoyant"} <= set(forecast_spec.policies)


def test_scenario_follows_the_seed_and_stays_out_of_info(forecast_spec):
    env = make(forecast_spec)
    _, info = env.reset(seed=11)
    first = scenario(env)
    env.reset(seed=11)
    again = scenario(env)
    env.reset(seed=12)
    other = scenario(env)
    for name in first:
        assert np.array_equal(first[name], again[name])
        assert not np.allclose(first[name], other[name])
        for shown in info["state"].values():  # the future is not in info["state"]
            shown = np.asarray(shown)
            assert shown.shape != first[name].shape or not np.allclose(shown, first[name])
    assert not any("error" in key for key in info["state"])


def test_vector_copies_draw_their_own_scenarios_through_autoreset(forecast_spec):
    vec = forecast_spec.env_class().make_vector(
        2, uncertainty="forecast", **SMALL.get(forecast_spec.slug, {})
    )
    obs, _ = vec.reset(seed=4)
    vec.action_space.seed(4)
    horizon = vec.template.horizon
    for _ in range(horizon + 1):  # through one autoreset
        obs, _, _, _, _ = vec.step(vec.action_space.sample())
        assert vec.observation_space.contains(obs)
    series = vec.dynamics.scenario(vec._state)
    for value in series.values():
        assert not np.allclose(value[0], value[1])

"""Config fuzzing: any value either validates into a working env or raises ConfigError."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stagewise
from stagewise.core.config import ConfigError

BAD_VALUES = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-1, -1.0, 0, 0.0, -1e-9, 1e12, math.nan, math.inf, -math.inf]),
    st.lists(st.floats(min_value=-10, max_value=10), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _check_one(spec: stagewise.core.ProblemSpec, field: str, value: object) -> None:
    try:
        env = gym.make(spec.env_id, **{field: value})
    except ConfigError as err:
        assert field in str(err), f"error does not name the field {field!r}: {err}"
        return
    # A value that validated must give a working environment.
    env.action_space.seed(0)
    obs, _ = env.reset(seed=0)
    for _ in range(env.unwrapped.horizon):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert np.all(np.isfinite(obs)) and np.isfinite(reward) and info["cost"] >= 0
        if terminated or truncated:
            break


def _fuzz(spec: stagewise.core.ProblemSpec) -> None:
    fields = sorted(spec.env_class().config_model.model_fields)

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        derandomize=True,
    )
    @given(field=st.sampled_from(fields), value=BAD_VALUES)
    def run(field: str, value: object) -> None:
        _check_one(spec, field, value)

    run()


def test_fuzzed_config_values_are_validated_or_work(spec: stagewise.core.ProblemSpec) -> None:
    _fuzz(spec)


def test_unknown_config_field_is_rejected_with_its_name(spec: stagewise.core.ProblemSpec) -> None:
    try:
        gym.make(spec.env_id, no_such_field=1)
    except ConfigError as err:
        assert "no_such_field" in str(err)
    else:
        raise AssertionError("an unknown field was accepted")


def test_numeric_fields_refuse_booleans_and_numeric_strings(
    spec: stagewise.core.ProblemSpec,
) -> None:
    """Pydantic would read ``True`` as 1 and ``"3"`` as 3; a config never does."""
    from stagewise.core.config import _is_number_field

    model = spec.env_class().config_model
    numeric = [n for n, f in model.model_fields.items() if _is_number_field(f)]
    assert numeric, f"{spec.slug} has no numeric config field to check"
    for name in numeric:
        for loose in (True, "3"):
            try:
                gym.make(spec.env_id, **{name: loose})
            except ConfigError as err:
                assert name in str(err) and repr(loose) in str(err)
            else:
                raise AssertionError(f"{spec.slug}: {name}={loose!r} was accepted")

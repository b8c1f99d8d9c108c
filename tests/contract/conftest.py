"""Parametrization of the contract suite over every registered problem and action mode."""

from __future__ import annotations

import pytest

import stagewise
from stagewise.core.registry import ProblemSpec


def _problem_modes() -> list[tuple[ProblemSpec, str]]:
    cases = []
    for spec in stagewise.problems():
        env_cls = spec.env_class()
        modes = env_cls.build_dynamics(env_cls.config_model()).codec.modes
        cases.extend((spec, mode) for mode in modes)
    return cases


PROBLEMS = stagewise.problems()
PROBLEM_MODES = _problem_modes()


@pytest.fixture(params=PROBLEMS, ids=[p.slug for p in PROBLEMS])
def spec(request: pytest.FixtureRequest) -> ProblemSpec:
    return request.param


@pytest.fixture(params=PROBLEM_MODES, ids=[f"{p.slug}-{m}" for p, m in PROBLEM_MODES])
def spec_mode(request: pytest.FixtureRequest) -> tuple[ProblemSpec, str]:
    return request.param

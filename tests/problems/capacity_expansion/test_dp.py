"""Exact DP of capacity expansion: thresholds, closed forms, Monte Carlo, refinement, options."""

import numpy as np
import pytest
from scipy.stats import norm

from stagewise.core.config import ConfigError, load_config
from stagewise.core.policy import run_episode
from stagewise.core.registry import get_problem, load_object
from stagewise.problems.capacity_expansion.baselines import Myopic
from stagewise.problems.capacity_expansion.config import CapacityExpansionConfig
from stagewise.problems.capacity_expansion.dp import optimal_policy, solve
from stagewise.problems.capacity_expansion.env import CapacityExpansionEnv
from stagewise.problems.capacity_expansion.montecarlo import monte_carlo_value
from stagewise.problems.capacity_expansion.plots import plot_policy_maps

LAST_STAGE_THRESHOLD = (300.0 + 20.0) / 2920.0  # (c_om + c_inv) / u = 0.10959
EXAMPLE1 = {"uncertainty": "price", "K": 1}
SMALL_GRID = {"price_nodes": 101, "demand_nodes": 51}


def _rows(solution, **match):
    return [r for r in solution.details["thresholds"] if all(r[k] == v for k, v in match.items())]


def test_two_stage_threshold_is_analytic_and_stage_one_waits():
    solution = solve(EXAMPLE1, T=2)
    (row,) = _rows(solution, stage=2)
    assert row["status"] == "threshold"
    assert row["price_threshold"] == pytest.approx(LAST_STAGE_THRESHOLD, abs=1e-6)
    assert round(row["price_threshold"], 4) == 0.1096
    assert solution.details["first_stage_decision"] == 0


def test_two_stage_value_is_the_lognormal_call_formula():
    # V = E[(u p_2 - c_om - c_inv)^+] / (1 + i) with log(p_2 / p_1) ~ N(mu1, sigma1).
    solution = solve(EXAMPLE1, T=2)
    forward, strike, sigma = 292.0 * np.exp(0.05 + 0.5 * 0.1**2), 320.0, 0.1
    d1 = (np.log(forward / strike) + 0.5 * sigma**2) / sigma
    call = forward * norm.cdf(d1) - strike * norm.cdf(d1 - sigma)
    assert solution.status == "optimal"
    assert solution.objective == pytest.approx(call / 1.05, rel=2e-4)


@pytest.mark.parametrize(("i", "K"), [(0.0, 2), (0.1, 3)])
def test_last_stage_thresholds_do_not_depend_on_interest_or_capacity(i, K):
    price_only = solve({"uncertainty": "price", "K": K, "T": 3, "i": i}, **SMALL_GRID)
    rows = _rows(price_only, stage=3)
    assert len(rows) == K * (K + 1) // 2
    for row in rows:
        assert row["price_threshold"] == pytest.approx(LAST_STAGE_THRESHOLD, abs=1e-6)
    with_demand = solve({"K": K, "T": 3, "i": i}, **SMALL_GRID)
    served = [r for r in _rows(with_demand, stage=3) if r["demand"] >= r["capacity"] + r["units"]]
    assert served
    for row in served:
        assert row["price_threshold"] == pytest.approx(LAST_STAGE_THRESHOLD, abs=1e-6)


def test_partly_served_unit_needs_a_proportionally_higher_price():
    # Last stage: the k-th added unit serves g = min(d, C+k) - min(d, C+k-1) of demand,
    # so x_T >= k exactly when u p g > c_om + c_inv (the stage reward is concave in x).
    solution = solve({"K": 3, "T": 3}, **SMALL_GRID)
    checked = 0
    for row in _rows(solution, stage=3, status="threshold"):
        top = row["capacity"] + row["units"]
        gain = min(row["demand"], top) - min(row["demand"], top - 1)
        if 0 < gain < 1:
            assert row["price_threshold"] == pytest.approx(LAST_STAGE_THRESHOLD / gain, rel=1e-6)
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize("config", [{**EXAMPLE1, "T": 3}, {"K": 2, "T": 3}])
def test_dp_value_agrees_with_monte_carlo_of_its_policy(config):
    solution = solve(config)
    mean, se = monte_carlo_value(solution.policy, config, paths=100_000, seed=0)
    assert abs(mean - solution.objective) < 4 * se
    assert se < 0.01 * solution.objective


def test_dp_policy_beats_myopic_on_common_random_numbers():
    config = load_config(CapacityExpansionConfig, {"K": 2, "T": 3})
    solution = solve(config, **SMALL_GRID)
    dp_mean, se = monte_carlo_value(solution.policy, config, paths=50_000, seed=1)
    myopic_mean, _ = monte_carlo_value(Myopic(config), config, paths=50_000, seed=1)
    assert dp_mean > myopic_mean + se


@pytest.mark.parametrize("config", [{**EXAMPLE1, "T": 3}, {"K": 3, "T": 4}])
def test_dp_value_is_invariant_to_grid_refinement(config):
    coarse = solve(config, price_nodes=201, demand_nodes=201)
    fine = solve(config, price_nodes=401, demand_nodes=401, width=5.0)
    assert fine.objective == pytest.approx(coarse.objective, rel=1e-3)


def test_gauss_hermite_transition_agrees_with_exact_integration():
    exact = solve({**EXAMPLE1, "T": 3}, price_nodes=201)
    quadrature = solve({**EXAMPLE1, "T": 3}, price_nodes=201, quadrature=120)
    assert quadrature.objective == pytest.approx(exact.objective, rel=1e-3)


def test_policy_acts_identically_in_box_and_discrete_modes():
    policy = solve({"K": 2, "T": 3}, **SMALL_GRID).policy
    totals = []
    for mode in ("box", "discrete"):
        env = CapacityExpansionEnv(K=2, T=3, action_mode=mode)
        totals.append([run_episode(policy, env, seed).reward for seed in range(5)])
    assert totals[0] == totals[1]
    assert any(t != 0.0 for t in totals[0])


def test_registered_policies_build_from_an_env():
    spec = get_problem("capacity-expansion")
    env = CapacityExpansionEnv(uncertainty="price", K=1, T=2)
    optimal = load_object(spec.policies["optimal"])(env, price_nodes=51)
    never = load_object(spec.policies["never-expand"])(env)
    assert run_episode(never, env, 0).reward == 0.0
    assert optimal is not None and optimal_policy(env).decide(2, [0.2], [np.inf], [0]) == [1]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("price_nodes", 100, "price_nodes must be an odd integer"),
        ("demand_nodes", 1, "demand_nodes must be an odd integer"),
        ("quadrature", "simpson", "quadrature must be 'exact'"),
        ("quadrature", 1, "quadrature must be 'exact'"),
        ("width", -1.0, "width must be a positive"),
        ("time_limit", 0, "time_limit must be a positive"),
    ],
)
def test_bad_solver_options_raise_a_clear_error(option, value, message):
    with pytest.raises(ValueError, match=message):
        solve({"T": 2}, **{option: value})


def test_bad_config_names_the_field():
    with pytest.raises(ConfigError, match="T = 0"):
        solve(T=0)
    with pytest.raises(ConfigError, match="no demand"):
        solve(uncertainty="price", sigma2=0.3)


def test_policy_maps_are_written_per_stage(tmp_path):
    config = {"K": 2, "T": 2}
    paths = plot_policy_maps(solve(config, **SMALL_GRID), config, tmp_path)
    assert [p.name for p in paths] == ["policy_stage1.png", "policy_stage2.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)


def test_exceeded_time_limit_reports_status_without_a_value():
    solution = solve({"T": 3}, time_limit=1e-9)
    assert solution.status == "time_limit"
    assert np.isnan(solution.objective) and solution.policy is None

"""The lower level: elastic Eq. 31 in HiGHS, against a rebuilt model and the exact SOCP."""

from __future__ import annotations

import numpy as np
import pytest

from stagewise.problems.copper_blending.ccp import (
    ChanceConstrainedLP,
    confidence_quantile,
    solve_rebuilt,
    solve_socp,
)
from stagewise.problems.copper_blending.instances import load_instance

H62 = load_instance("H62")


def test_updated_model_matches_a_rebuilt_model_on_random_requests() -> None:
    inst = load_instance("5E24M-LH-0")
    lp = ChanceConstrainedLP(inst)
    mean = np.asarray(inst.mean)
    rng = np.random.default_rng(0)
    for _ in range(25):
        alpha, weight, melt = rng.uniform(0.05, 0.95), rng.uniform(0.5, 6.0), rng.uniform(0, 4)
        p = mean[rng.integers(len(mean))]
        inventory = np.asarray(inst.inventory) * rng.uniform(0.5, 1.0, len(mean))
        fast = lp.solve(alpha, weight, melt, p, inventory)
        slow = solve_rebuilt(inst, alpha, weight, melt, p, inventory)
        assert fast.material_cost + 1e6 * fast.slack == pytest.approx(
            slow.material_cost + 1e6 * slow.slack, rel=1e-7, abs=1e-6
        )
        assert fast.x.sum() == pytest.approx(weight, abs=1e-6)
        assert np.all(fast.x <= inventory + 1e-9)


def blend_rows(x: np.ndarray, z: float, exact: bool) -> tuple[np.ndarray, np.ndarray]:
    """Left-hand sides of the upper (Eq. 26/29) and lower (Eq. 27/30) rows, empty furnace."""
    mu, sigma = np.asarray(H62.mean), np.asarray(H62.std)
    spread = np.sqrt(((sigma * x[:, None]) ** 2).sum(axis=0)) if exact else sigma.T @ x
    return mu.T @ x + z * spread, mu.T @ x - z * spread


@pytest.mark.parametrize("alpha", [0.6, 0.8, 0.95])
def test_linear_feed_satisfies_the_exact_chance_constraints(alpha: float) -> None:
    feed = ChanceConstrainedLP(H62).solve(alpha, H62.W)
    upper, lower = blend_rows(feed.x, confidence_quantile(alpha), exact=True)
    assert np.all(upper <= np.asarray(H62.upper) * H62.W + 1e-7)
    assert np.all(lower >= np.asarray(H62.lower) * H62.W - 1e-7)


def test_exact_socp_is_no_dearer_than_its_linearization() -> None:
    linear = ChanceConstrainedLP(H62).solve(0.9, H62.W)
    exact = solve_socp(H62, 0.9, H62.W)
    assert exact.slack == pytest.approx(0.0, abs=1e-7)
    assert exact.material_cost <= linear.material_cost + 1e-6
    upper, lower = blend_rows(exact.x, confidence_quantile(0.9), exact=True)
    assert np.all(upper <= np.asarray(H62.upper) * H62.W + 1e-5)
    assert np.all(lower >= np.asarray(H62.lower) * H62.W - 1e-5)


def test_socp_rejects_alpha_below_one_half() -> None:
    with pytest.raises(ValueError, match=r"0\.5 <= alpha"):
        solve_socp(H62, 0.3, H62.W)


def test_chance_constraint_holds_by_monte_carlo() -> None:
    feed = ChanceConstrainedLP(H62).solve(H62.alpha_star, H62.W)
    rng = np.random.default_rng(1)
    mu, sigma = np.asarray(H62.mean), np.asarray(H62.std)
    xi = mu + sigma * rng.standard_normal((20_000, *mu.shape))
    blend = np.einsum("kmn,m->kn", xi, feed.x) / H62.W
    assert np.all((blend <= np.asarray(H62.upper)).mean(axis=0) >= H62.alpha_star)
    assert np.all((blend >= np.asarray(H62.lower)).mean(axis=0) >= H62.alpha_star)


def test_alpha_one_half_is_the_mean_value_lp() -> None:
    feed = ChanceConstrainedLP(H62).solve(0.5, H62.W)
    blend = np.asarray(H62.mean).T @ feed.x / H62.W
    assert np.all(blend <= np.asarray(H62.upper) + 1e-9)
    assert np.all(blend >= np.asarray(H62.lower) - 1e-9)
    assert feed.material_cost < ChanceConstrainedLP(H62).solve(0.95, H62.W).material_cost


def test_infeasible_request_returns_the_weight_with_reported_slack() -> None:
    lp = ChanceConstrainedLP(H62)
    # 9 t of melt far below the Cu spec cannot be corrected by 1 t of anything.
    feed = lp.solve(0.95, 1.0, melt_weight=9.0, melt_composition=np.array([0.5, 0.49, 0.001]))
    assert feed.x.sum() == pytest.approx(1.0)
    assert feed.slack_lower[0] > 0.5
    assert lp.solve(0.95, 10.0).slack == pytest.approx(0.0, abs=1e-9)


def test_open_loop_request_ignores_the_melt_composition() -> None:
    lp = ChanceConstrainedLP(H62)
    empty = lp.solve(0.8, 4.0, melt_weight=0.0, melt_composition=np.array([0.5, 0.49, 0.001]))
    assert np.allclose(empty.x, lp.solve(0.8, 4.0).x)


def test_weight_beyond_inventory_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="stage weight"):
        ChanceConstrainedLP(H62).solve(0.9, 5.0, inventory=np.full(8, 0.5))


def test_lower_level_survives_pickling_with_identical_feeds() -> None:
    """A copy of the lower level (pickle, deepcopy) rebuilds its HiGHS model on load."""
    import pickle

    from stagewise.problems.copper_blending.ccp import ChanceConstrainedLP

    lp = ChanceConstrainedLP(load_instance("H62"))
    first = lp.solve(0.9, 4.0)
    clone = pickle.loads(pickle.dumps(lp))
    again = clone.solve(0.9, 4.0)
    assert np.allclose(first.x, again.x) and first.material_cost == again.material_cost


class _FirstRunFails:
    """A HiGHS proxy whose first ``run()`` does nothing, as a warm start that ends without
    a status: the model was just changed, so its status reads "Not Set"."""

    def __init__(self, highs: object):
        self._highs, self.runs = highs, 0

    def run(self) -> None:
        self.runs += 1
        if self.runs > 1:
            self._highs.run()

    def __getattr__(self, name: str) -> object:
        return getattr(self._highs, name)


def test_a_warm_solve_that_ends_without_status_is_retried_from_scratch() -> None:
    lp = ChanceConstrainedLP(H62)
    expected = lp.solve(0.9, 4.0)
    lp.solve(0.5, 6.0)  # move the warm start elsewhere
    proxy = _FirstRunFails(lp._highs)
    lp._highs = proxy
    again = lp.solve(0.9, 4.0)
    assert proxy.runs == 2
    assert again.material_cost == pytest.approx(expected.material_cost, rel=1e-9)
    assert np.allclose(again.x, expected.x, atol=1e-9)

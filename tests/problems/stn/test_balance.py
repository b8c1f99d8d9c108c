"""STN stock balance on random actions (A.2.5, corrected physics).

A ledger kept here from the config's stoichiometry and processing times ``p`` checks
every step of random episodes: the inputs ``nu^- b`` leave at the start, each
output ``nu^+ b`` arrives exactly ``p`` periods later (its own ``p``, not the task's),
a unit comes back after the longest ``p``, and stock plus what is in transit is
conserved up to purchases, sales and what is discarded above ``X^max``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from stagewise.core.env import State, Transition
from stagewise.core.production_scheduling.network import Network, NetworkDynamics
from stagewise.problems.stn.config import STNConfig
from stagewise.problems.stn.env import STNEnv

COPIES = 32
TOL = 1e-9


def _mixed_processing_times() -> dict[str, Any]:
    """The hard case study with a different ``p`` for every output of tasks 1 and 3."""
    tasks = STNConfig().model_dump()["tasks"]
    tasks["task_1"]["p"] = {"product_1": 1, "intermediate_1": 2, "intermediate_2": 3}
    tasks["task_3"]["p"] = {"product_1": 3, "intermediate_1": 1, "intermediate_2": 2}
    return {"tasks": tasks}


CASES = {
    "hard": {},
    "hard-published-decoding": {"decoding": "published"},
    "easy": {"case": "easy"},
    "mixed-processing-times": _mixed_processing_times(),
}


@dataclass
class Ledger:
    """What the started batches owe the plant, by the period ``t`` it arrives in ``X_t``.

    Attributes:
        yields: ``nu^+`` ``[J, M]`` from the config.
        delay: processing time ``p_{jm}`` ``[J, M]`` of each output (0 where none).
        hold: periods ``[J]`` a pair holds its unit (the longest ``p`` of its task).
        materials: ``[copies, T + D + 1, M]`` outputs due; ``units`` the same for equipment.
    """

    yields: np.ndarray
    delay: np.ndarray
    hold: np.ndarray
    materials: np.ndarray
    units: np.ndarray

    @classmethod
    def of(cls, config: STNConfig, nw: Network, copies: int) -> Ledger:
        m_index = {m: i for i, m in enumerate(nw.materials)}
        yields = np.zeros((len(nw.pairs), len(nw.materials)))
        delay = np.zeros((len(nw.pairs), len(nw.materials)), dtype=np.int64)
        hold = np.zeros(len(nw.pairs), dtype=np.int64)
        for j, pair in enumerate(nw.pairs):
            task = config.tasks[pair.split("@")[0]]
            hold[j] = task.hold
            for m, nu in task.produced().items():
                yields[j, m_index[m]] = nu
                delay[j, m_index[m]] = task.p[m]
        periods = nw.horizon + nw.max_delay + 1
        return cls(
            yields=yields,
            delay=delay,
            hold=hold,
            materials=np.zeros((copies, periods, len(nw.materials))),
            units=np.zeros((copies, periods, len(nw.equipment))),
        )

    def start(self, t: int, batch: np.ndarray, uses: np.ndarray) -> None:
        """Batches ``[copies, J]`` started in period ``t``: outputs due in ``X_{t + p}``."""
        for j, m in zip(*np.nonzero(self.yields), strict=True):
            self.materials[:, t + self.delay[j, m], m] += batch[:, j] * self.yields[j, m]
        for j in range(batch.shape[1]):
            self.units[:, t + self.hold[j]] += (batch[:, j] > 0)[:, None] * uses[j]

    def in_transit(self, t: int) -> np.ndarray:
        """Outputs ``[copies, M]`` still owed after ``X_t``."""
        return self.materials[:, t + 1 :].sum(axis=1)


def _random_start(d: NetworkDynamics, rng: np.random.Generator) -> State:
    """Copies with stock drawn inside the bounds, so episodes also overflow and run short."""
    nw = d.network
    s = d.initial_state(rng, COPIES)
    s["X"] = rng.uniform(nw.x_min, nw.x_max, s["X"].shape)
    return s


def _expected_flows(nw: Network, s: State, batch: np.ndarray) -> dict[str, np.ndarray]:
    """Per material ``[copies, M]``: consumed, bought, sold as A.2.5 orders them."""
    t = int(s["t"][0])
    consumed = batch @ nw.consume
    after_start = s["X"] - consumed
    bought = np.where(nw.reactant, np.maximum(nw.x_min - after_start, 0.0), 0.0)
    sold = np.zeros_like(after_start)
    room = np.maximum(after_start + bought - nw.x_min, 0.0)[:, nw.products]
    sold[:, nw.products] = np.minimum(room, nw.demand[t])
    return {"consumed": consumed, "bought": bought, "sold": sold}


def _check_step(nw: Network, s: State, tr: Transition, ledger: Ledger, batch: np.ndarray) -> None:
    t = int(s["t"][0])
    flows = _expected_flows(nw, s, batch)
    arrived = ledger.materials[:, t + 1]
    kept = s["X"] - flows["consumed"] + flows["bought"] - flows["sold"] + arrived
    discarded = np.maximum(kept - nw.x_max, 0.0)
    x_next = tr.state["X"]
    # Stock: X_{t+1} = X_t - nu^- b + bought - sold + outputs due now - discarded.
    np.testing.assert_allclose(x_next, kept - discarded, atol=TOL)
    # Balance with the pipeline: stock + in transit changes only by nu^+ b - nu^- b,
    # purchases, sales and discards.
    produced = batch @ ledger.yields
    before = s["X"] + s["pending"].sum(axis=1)
    after = x_next + tr.state["pending"].sum(axis=1)
    change = produced - flows["consumed"] + flows["bought"] - flows["sold"] - discarded
    np.testing.assert_allclose(after - before, change, atol=1e-7)
    # What is pending is exactly what the ledger still owes, period by period.
    owed = ledger.materials[:, t + 2 : t + 1 + nw.max_delay]
    np.testing.assert_allclose(tr.state["pending"], owed, atol=TOL)
    assert np.all(x_next >= nw.x_min - TOL) and np.all(x_next <= nw.x_max + TOL)
    # Units: taken at the start, back after the pair's hold.
    runs = (batch > 0).astype(np.float64)
    np.testing.assert_allclose(tr.state["E"], s["E"] - runs @ nw.uses + ledger.units[:, t + 1])
    # Reward terms and the overflow count price the same flows.
    terms = tr.reward_terms
    sold = flows["sold"][:, nw.products]
    np.testing.assert_allclose(terms["revenue"], sold @ nw.price, atol=1e-7)
    unmet = (nw.demand[t] - sold) @ (nw.unmet_factor * nw.price)
    np.testing.assert_allclose(terms["unmet_demand"], -unmet, atol=1e-7)
    np.testing.assert_allclose(terms["orders"], -flows["bought"] @ nw.order_price, atol=1e-7)
    overflow = (discarded > 1e-5).sum(axis=1)
    np.testing.assert_array_equal(tr.costs["inventory_bounds"], overflow)


@pytest.mark.parametrize("case", sorted(CASES))
def test_random_episodes_balance_stock_and_deliver_each_output_after_its_processing_time(
    case: str,
) -> None:
    env = STNEnv(**CASES[case])
    d, nw = env.dynamics, env.dynamics.network
    rng = np.random.default_rng(7)
    s = _random_start(d, rng)
    ledger = Ledger.of(env.config, nw, COPIES)
    started = np.zeros(len(nw.pairs))
    for t in range(nw.horizon):
        actions = rng.uniform(-1.0, 1.0, (COPIES, d.codec.dim))
        request = d.codec.decode_batch(actions, "box")["batch"]
        batch, _, _ = d.sanitize(s["X"], s["E"], request)
        ledger.start(t, batch, nw.uses)
        tr = d.transition(s, {"batch": request}, rng)
        _check_step(nw, s, tr, ledger, batch)
        started += (batch > 0).sum(axis=0)
        s = tr.state
    assert np.all(started[nw.active] > 0)  # every pair ran, so every output's delay was used

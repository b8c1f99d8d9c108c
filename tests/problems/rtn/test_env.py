"""RTN dynamics: decoding, stock, durations, sanitization, orders, bounds and config errors."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from stagewise.core.config import ConfigError
from stagewise.core.env import State, Transition
from stagewise.core.production_scheduling.network import NetworkDynamics
from stagewise.problems.rtn.env import RTNEnv

RNG = np.random.default_rng(0)
ALL_DEMAND_REVENUE = 386.9339  # sum of demand x price of the hard case study


def dynamics(**overrides: Any) -> NetworkDynamics:
    return RTNEnv(**overrides).dynamics


def state(d: NetworkDynamics, t: int = 0, **stock: float) -> State:
    s = d.initial_state(RNG, 1)
    s["t"][0] = t
    for name, value in stock.items():
        s["X"][0, d.network.materials.index(name)] = value
    return s


def step(d: NetworkDynamics, s: State, *batch: float) -> Transition:
    return d.transition(s, {"batch": np.array([batch], dtype=float)}, RNG)


def stock(d: NetworkDynamics, s: State, name: str) -> float:
    return float(s["X"][0, d.network.materials.index(name)])


def test_default_decoding_idles_below_zero_and_spans_the_batch_range_above() -> None:
    env = RTNEnv()
    nw = env.dynamics.network
    idle = env.decode(np.array([-1.0, -0.5, -0.001], dtype=np.float32))["batch"]
    assert not env.dynamics.started(idle[None, :]).any()
    running = env.decode(np.array([0.0, 0.5, 1.0], dtype=np.float32))["batch"]
    assert running == pytest.approx([nw.v_min[0], 0.5 * (nw.v_min[1] + nw.v_max[1]), nw.v_max[2]])
    assert env.dynamics.started(running[None, :]).all()
    assert env.encode({"batch": np.zeros(3)}) == pytest.approx([-1.0, -1.0, -1.0])


def test_published_decoding_idles_only_in_the_dead_zone() -> None:
    env = RTNEnv(decoding="published")
    nw = env.dynamics.network
    batch = env.decode(np.array([-1.0, 0.0009, 0.0011], dtype=np.float32))["batch"]
    assert batch[0] == pytest.approx(nw.v_min[0])
    assert env.dynamics.started(batch[None, :]).tolist() == [[True, False, True]]
    assert env.encode({"batch": np.zeros(3)}) == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)


@pytest.mark.parametrize(("decoding", "idle"), [("default", -1.0), ("published", 0.0)])
def test_an_idle_plant_pays_every_unmet_demand_at_no_cost(decoding: str, idle: float) -> None:
    env = gym.make("stagewise/RTN-v0", decoding=decoding)
    env.reset(seed=0)
    total, cost, done = 0.0, 0.0, False
    while not done:
        _, reward, done, _, info = env.step(np.full(3, idle, dtype=np.float32))
        total, cost = total + reward, cost + info["cost"]
    # The published code's a = 0 episode: reward -580.40 (its cost 90 counts idling as repair).
    assert total == pytest.approx(-1.5 * ALL_DEMAND_REVENUE, abs=0.01)
    assert total == pytest.approx(-580.40, abs=0.01)
    assert cost == 0.0


def test_sales_are_taken_out_of_product_stock() -> None:
    """Regression: the published code never removes sold product, so the same stock
    "sells" again at every later demand."""
    d = dynamics()
    price = d.network.price[0]
    demand8, demand13 = d.network.demand[7, 0], d.network.demand[12, 0]
    tr = step(d, state(d, t=7, product_1=20.0), 0.0, 0.0, 0.0)
    assert stock(d, tr.state, "product_1") == pytest.approx(20.0 - demand8)
    assert tr.reward_terms["revenue"][0] == pytest.approx(price * demand8)
    later = {**tr.state, "t": np.array([12])}
    tr = step(d, later, 0.0, 0.0, 0.0)
    assert tr.reward_terms["revenue"][0] == pytest.approx(price * (20.0 - demand8))
    assert tr.reward_terms["unmet_demand"][0] == pytest.approx(
        -1.5 * price * (demand13 - (20.0 - demand8))
    )
    assert stock(d, tr.state, "product_1") == 0.0


def test_outputs_and_equipment_come_back_after_the_task_duration() -> None:
    d = dynamics()
    s = state(d, intermediate_1=100.0)
    tr = step(d, s, 54.0, 60.0, 0.0)  # task_1 (tau 1) and task_2 (tau 2)
    assert stock(d, tr.state, "intermediate_1") == pytest.approx(100.0 - 60.0 + 54.0 / 6)
    assert stock(d, tr.state, "product_1") == pytest.approx(27.0)  # task_1's half, next period
    assert stock(d, tr.state, "product_2") == 0.0  # task_2's still pending
    assert tr.state["E"][0].tolist() == [0.0, 1.0, 1.0]  # equipment_1 held by task_2
    tr = step(d, tr.state, 0.0, 40.0, 0.0)  # task_2 again while its equipment is busy
    assert tr.costs["equipment"][0] == 1.0
    assert stock(d, tr.state, "product_2") == pytest.approx(40.0)
    assert stock(d, tr.state, "product_1") == pytest.approx(27.0 + 20.0)
    assert tr.state["E"][0].tolist() == [1.0, 1.0, 1.0]
    assert not tr.state["pending"].any() and not tr.state["returning"].any()


def test_missing_material_cuts_or_drops_the_batch_and_counts_it() -> None:
    d = dynamics()
    tr = step(d, state(d, intermediate_1=40.0), 0.0, 60.0, 0.0)
    assert tr.costs["sanitization"][0] == 1.0
    assert stock(d, tr.state, "intermediate_1") == pytest.approx(0.0)
    assert tr.state["pending"][0, 0, d.network.materials.index("product_2")] == pytest.approx(
        40.0 * 2 / 3
    )
    tr = step(d, state(d, intermediate_1=20.0), 0.0, 60.0, 0.0)  # below Vmin = 30.02
    assert tr.costs["sanitization"][0] == 1.0
    assert stock(d, tr.state, "intermediate_1") == 20.0 and tr.state["E"][0, 0] == 1.0
    # Pairs are sanitized in order against the stock the earlier ones left.
    tr = step(d, state(d, intermediate_1=60.0, intermediate_2=60.0), 0.0, 50.0, 40.0)
    assert tr.costs["sanitization"][0] == 1.0
    assert stock(d, tr.state, "intermediate_1") == pytest.approx(10.0)


def test_sanitization_weight_scales_the_count() -> None:
    d = dynamics(sanitization_weight=2.5)
    tr = step(d, state(d, intermediate_1=20.0), 0.0, 60.0, 0.0)
    assert tr.costs["sanitization"][0] == 2.5


def test_magnitude_sanitization_charges_the_batch_amount_removed() -> None:
    d = dynamics(sanitization="magnitude", sanitization_weight=0.5)
    tr = step(d, state(d, intermediate_1=40.0), 0.0, 60.0, 0.0)  # cut from 60 to 40
    assert tr.costs["sanitization"][0] == pytest.approx(0.5 * 20.0)
    tr = step(d, state(d, intermediate_1=20.0), 0.0, 60.0, 0.0)  # dropped: all 60 lost
    assert tr.costs["sanitization"][0] == pytest.approx(0.5 * 60.0)


def test_reactants_short_of_stock_are_ordered_once() -> None:
    """Regression: the published code charges the whole cumulative deficit at every step."""
    d = dynamics()
    nw = d.network
    raw = nw.materials.index("raw_1")
    tr = step(d, state(d, raw_1=5.0), 54.0, 0.0, 0.0)
    bought = 54.0 * 0.36248147170721406 - 5.0
    assert tr.reward_terms["orders"][0] == pytest.approx(-nw.order_price[raw] * bought)
    assert stock(d, tr.state, "raw_1") == 0.0
    assert tr.costs["sanitization"][0] == 0.0  # reactants never limit a batch
    tr = step(d, tr.state, 0.0, 0.0, 0.0)
    assert tr.reward_terms["orders"][0] == 0.0


def test_stock_above_its_bound_is_discarded_and_counted() -> None:
    d = dynamics()
    tr = step(d, state(d, product_1=195.0), 54.0, 0.0, 0.0)
    assert tr.costs["inventory_bounds"][0] == 1.0
    assert stock(d, tr.state, "product_1") == 200.0


def _reference_step(d: NetworkDynamics, s: State, request: np.ndarray) -> dict[str, Any]:
    """One environment's step written plainly, pair by pair and material by material."""
    nw = d.network
    x, e = s["X"][0].copy(), s["E"][0].copy()
    t = int(s["t"][0])
    batch = np.zeros(len(nw.pairs))
    busy = short = 0
    for j in range(len(nw.pairs)):
        middle, half = (nw.v_min[j] + nw.v_max[j]) / 2, (nw.v_max[j] - nw.v_min[j]) / 2
        if nw.decoding == "published":
            requested = abs(request[j] - middle) > 1e-3 * half
        else:
            requested = request[j] >= nw.v_min[j] - 1e-5
        if not (nw.active[j] and requested):
            continue
        held = [k for k in range(len(nw.equipment)) if nw.uses[j, k]]
        if any(e[k] < 1 - 1e-5 for k in held):
            busy += 1
            continue
        want = max(request[j], nw.v_min[j])
        room = min(
            [
                (x[m] - nw.x_min[m]) / nw.consume[j, m]
                for m in range(len(x))
                if nw.consume[j, m] > 0 and not nw.reactant[m]
            ]
            + [np.inf]
        )
        got = min(want, max(room, 0.0))
        if got < nw.v_min[j] - 1e-5:
            got = 0.0
        short += int(want - got > 1e-5)
        batch[j] = got
        x -= got * nw.consume[j]
        for k in held:
            e[k] -= got > 0
    orders = sum(
        nw.order_price[m] * max(nw.x_min[m] - x[m], 0.0) for m in range(len(x)) if nw.reactant[m]
    )
    x = np.where(nw.reactant, np.maximum(x, nw.x_min), x)
    revenue = 0.0
    for p, m in enumerate(nw.products):
        sold = min(max(x[m] - nw.x_min[m], 0.0), nw.demand[t, p])
        x[m] -= sold
        revenue += nw.price[p] * sold
    x += s["pending"][0, 0] if s["pending"].shape[1] else 0.0
    x += batch @ nw.deliver[:, 0, :]
    overflow = int(np.sum(x > nw.x_max + 1e-5))
    return {
        "X": np.minimum(x, nw.x_max),
        "batch": batch,
        "busy": busy,
        "short": short,
        "orders": orders,
        "revenue": revenue,
        "overflow": overflow,
    }


@pytest.mark.parametrize("overrides", [{}, {"decoding": "published"}, {"case": "easy"}])
def test_vectorized_step_matches_a_plain_reference_on_random_states(overrides: dict) -> None:
    d = dynamics(**overrides)
    nw = d.network
    rng = np.random.default_rng(1)
    low, high = nw.request_bounds()
    for _ in range(300):
        s = d.initial_state(rng, 1)
        s["t"][0] = rng.integers(nw.horizon)
        s["X"][0] = rng.uniform(nw.x_min - 20.0, nw.x_max) * (rng.random(len(nw.x0)) < 0.8)
        s["X"][0] = np.where(nw.reactant, s["X"][0], np.clip(s["X"][0], nw.x_min, nw.x_max))
        s["E"][0] = rng.integers(0, nw.e_max + 1)
        s["pending"][0] = rng.uniform(0, 30, s["pending"].shape[1:])
        request = rng.uniform(low, high)
        tr = d.transition(s, {"batch": request[None, :]}, rng)
        ref = _reference_step(d, s, request)
        assert tr.state["X"][0] == pytest.approx(ref["X"], abs=1e-9)
        assert tr.costs["equipment"][0] == ref["busy"]
        assert tr.costs["sanitization"][0] == ref["short"]
        assert tr.costs["inventory_bounds"][0] == ref["overflow"]
        assert -tr.reward_terms["orders"][0] == pytest.approx(ref["orders"], abs=1e-9)
        assert tr.reward_terms["revenue"][0] == pytest.approx(ref["revenue"], abs=1e-9)
        assert -tr.reward_terms["utilities"][0] == pytest.approx(
            ref["batch"] @ nw.utility_cost[s["t"][0]], abs=1e-9
        )


def test_random_episodes_keep_stock_in_bounds_and_conserve_equipment() -> None:
    venv = RTNEnv.make_vector(64)
    nw = venv.dynamics.network
    venv.action_space.seed(0)
    venv.reset(seed=0)
    for _ in range(3 * nw.horizon):
        _, _, _, _, info = venv.step(venv.action_space.sample())
        x, e = info["state"]["X"], info["state"]["E"]
        assert np.all(x >= nw.x_min - 1e-9) and np.all(x <= nw.x_max + 1e-9)
        assert np.all(info["state"]["pending"] >= 0.0)
        held = info["state"]["returning"].sum(axis=1)
        assert np.allclose(e + held, nw.e_max)  # free + on the way back = all units


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"reactants": {"raw_1": {"X0": 1.0, "Xmin": 5.0, "Xmax": 2.0}}}, "reactants"),
        ({"tasks": {"t": {"tau": 0, "Vmin": 1.0, "Vmax": 2.0}}}, "tasks"),
        ({"tasks": {"t": {"tau": 1, "Vmin": 3.0, "Vmax": 2.0}}}, "tasks"),
        ({"tasks": {"t": {"tau": 1, "Vmin": 1, "Vmax": 2, "raw_dist": {"x": 1.0}}}}, "reactants"),
        ({"demand": {"product_1": {"1": 5.0}, "product_2": {"1": 0.0}}}, "demand"),
        ({"demand": {"product_1": {"1": -1.0}}}, "demand"),
        ({"equipments": {"equipment_1": {"X0": 0.5, "Xmin": 0.0, "Xmax": 1.0}}}, "equipments"),
        ({"products": {}}, "products"),
        ({"utility_costs": {}}, "utility_costs"),
        ({"decoding": "mid"}, "decoding"),
    ],
)
def test_bad_configs_raise_config_error_naming_the_field(overrides: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        RTNEnv(**overrides)


def test_a_missing_config_file_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="file not found"):
        RTNEnv(config="no/such/rtn.json")


def test_nan_actions_raise_value_error() -> None:
    env = RTNEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="RTN"):
        env.step(np.array([0.0, np.nan, 0.0], dtype=np.float32))

"""The sp reference policy: feed control, a hand-solved recourse, SAA convergence, the floor."""

from __future__ import annotations

import numpy as np
import pytest

from stagewise.core.policy import evaluate
from stagewise.problems.copper_blending import baselines
from stagewise.problems.copper_blending.bound import clairvoyant_costs
from stagewise.problems.copper_blending.config import CopperInstance
from stagewise.problems.copper_blending.env import CopperBlendingEnv
from stagewise.problems.copper_blending.sp import saa_value, sp


def toy_instance() -> CopperInstance:
    """Cu spec 60-64 %, W = 10 t, T = 2: 5 t of noisy cheap scrap, exact cathode and zinc."""
    return CopperInstance(
        name="toy",
        elements=["Cu"],
        lower=[0.60],
        upper=[0.64],
        materials=["scrap", "cathode", "zinc"],
        level=["H", "pure", "pure"],
        mean=[[0.62], [1.0], [0.0]],
        std=[[0.05], [0.0], [0.0]],
        price=[1000.0, 2500.0, 1500.0],
        inventory=[5.0, 10.0, 10.0],
        W=10.0,
        T=2,
        C_e=50.0,
        C_e_star=20.0,
        C_f=300.0,
        C_v=200_000.0,
        alpha_star=0.95,
    )


def toy_env() -> CopperBlendingEnv:
    return CopperBlendingEnv({"instance": toy_instance().model_dump(), "control": "feed"})


def test_sp_needs_feed_control() -> None:
    with pytest.raises(ValueError, match="control='feed'"):
        sp(CopperBlendingEnv({"instance": "H62"}))


def test_feed_control_plays_the_feed_and_a_final_stage_fills_the_furnace() -> None:
    env = toy_env()
    env.reset(seed=3)
    _, _, done, _, info = env.step(env.encode({"stop": 0, "feed": [4.0, 0.0, 0.0]}))
    assert not done
    assert info["state"]["feed"] == pytest.approx([4.0, 0.0, 0.0], abs=1e-5)
    # stop with a 2 t feed: the 4 t short are fed by the lower level at alpha*
    _, _, done, _, info = env.step(env.encode({"stop": 1, "feed": [0.0, 2.0, 0.0]}))
    assert done
    assert info["state"]["weight"] == pytest.approx(10.0)
    fed = info["state"]["feed"]
    assert fed.sum() == pytest.approx(6.0)
    assert fed[1] >= 2.0 - 1e-5  # the decided cathode is fed
    assert np.all(info["state"]["inventory"] >= 0.0)


def test_first_stage_feeds_all_the_scrap_and_the_value_matches_the_hand_recourse() -> None:
    # Continuing: 5 t of scrap now (the cheapest material; its noise is corrected by the
    # exact cathode/zinc later), then a = 6 - 5 p_s t of cathode and 5 - a of zinc in
    # branch s (the Cu mass reaches the lower bound 6 t; a penalty of 20,000 cu per t
    # of Cu is dearer than the 1,000 cu/t cathode costs over zinc).
    env = toy_env()
    policy = sp(env, scenarios=16, leaves=4)
    obs, info = env.reset(seed=0)
    policy.reset(env)
    policy.act(obs, info)
    plan = policy.plans[-1]
    assert not plan.stop
    assert plan.feed == pytest.approx([5.0, 0.0, 0.0], abs=1e-6)
    p = policy.saa.draws["first"][:, 0, 0]
    cathode = 6.0 - 5.0 * p
    recourse = np.mean(2500 * cathode + 1500 * (5 - cathode)) + 50 * 5 + 20 * 5 + 300
    assert plan.values["continue"] == pytest.approx(5 * 1050 + 300 + recourse, rel=1e-7)
    assert plan.values["stop"] > plan.values["continue"]


def test_final_stage_recourse_is_the_hand_solved_correction() -> None:
    env = toy_env()
    policy = sp(env, scenarios=8, leaves=4)
    obs, info = env.reset(seed=5)
    policy.reset(env)
    obs, _, done, _, info = env.step(env.encode({"stop": 0, "feed": [5.0, 0.0, 0.0]}))
    assert not done
    p = float(info["state"]["composition"][0])
    feed = env.decode(policy.act(obs, info))["feed"]
    assert policy.plans[-1].stop  # the last stage can only stop
    cathode = 6.0 - 5.0 * p
    assert feed == pytest.approx([0.0, cathode, 5.0 - cathode], abs=1e-5)
    _, _, done, _, info = env.step(env.encode({"stop": 1, "feed": feed}))
    assert done
    assert info["costs"]["spec_Cu"] == pytest.approx(0.0, abs=1e-4)


def test_saa_value_converges_as_scenarios_grow() -> None:
    # 8 independent draw sets per size; branches S and final draws K grow together
    env = CopperBlendingEnv({"instance": "H62", "control": "feed"})
    sizes = ((4, 2), (16, 8), (32, 16))
    values = [saa_value(env, scenarios=s, leaves=k, replications=8) for s, k in sizes]
    means = [v["mean"] for v in values]
    spread = [float(np.std(v["values"])) for v in values]
    # in-sample SAA values are biased low, less so with more scenarios ...
    assert means[0] < means[1] < means[2]
    # ... the steps shrink ...
    assert means[2] - means[1] < means[1] - means[0]
    # ... and so does the spread over draw sets
    assert spread[2] < 0.6 * spread[0]
    assert values[2]["ci_low"] < means[2] < values[2]["ci_high"]


def test_sp_never_costs_less_than_the_floor_on_the_same_draws() -> None:
    env = CopperBlendingEnv({"instance": "H62", "control": "feed"})
    policy = sp(env, scenarios=8, leaves=4)
    episodes = 6
    costs = baselines.total_costs(evaluate(policy, env, episodes, seed=0), 1e-3)
    floor = clairvoyant_costs(env, episodes, seed=0)
    assert np.all(costs >= floor - 1e-6)
    # every stage's solve is recorded; every episode filled the furnace
    assert len(policy.stage_seconds) >= episodes


def test_open_loop_plan_splits_a_noisy_material_when_stages_are_free() -> None:
    # With free stages, feeding the scrap over T = 2 stages averages two independent
    # draws: the 2-stage plan's SAA value is below the 1-stage one; with a dear stage
    # the 1-stage plan wins. The plan never costs less than the floor on common draws.
    from stagewise.problems.copper_blending.instances import apply_economics
    from stagewise.problems.copper_blending.sp import sp_open

    for c_f, best in ((0.0, 2), (5_000.0, 1)):
        inst = apply_economics(toy_instance(), C_f=c_f, C_e_star=0.0).model_dump()
        env = CopperBlendingEnv({"instance": inst, "control": "feed"})
        policy = sp_open(env, samples=100)
        assert policy.feeds.shape[0] == best
        assert policy.feeds.sum() == pytest.approx(10.0)
        costs = baselines.total_costs(evaluate(policy, env, 5, seed=0), 1e-3)
        assert np.all(costs >= clairvoyant_costs(env, 5, seed=0) - 1e-6)


def test_apply_economics_scales_within_table_2() -> None:
    from stagewise.problems.copper_blending.instances import (
        CV_INTERVALS,
        apply_economics,
        load_instance,
    )

    base = load_instance("5E24M-LH-0")
    changed = apply_economics(base, C_f=30, T=3, spec_scale=0.5, cv_scale=10, inventory_scale=2)
    assert (changed.C_f, changed.T) == (30.0, 3)
    b, c = base.arrays(), changed.arrays()
    np.testing.assert_allclose(c["upper"] - c["lower"], 0.5 * (b["upper"] - b["lower"]), atol=1e-9)
    for i, level in enumerate(base.level):
        if level == "pure":
            assert c["inventory"][i] == b["inventory"][i]
            continue
        assert c["inventory"][i] == pytest.approx(2 * b["inventory"][i])
        cv = np.mean(c["std"][i] / c["mean"][i])
        assert cv == pytest.approx(CV_INTERVALS[level][1], rel=1e-6)  # capped at the top
    with pytest.raises(ValueError, match="unknown economics"):
        apply_economics(base, C_e=20)
    # a larger batch: inventories keep their ratio to W, C_f and C_v stay absolute
    bigger = apply_economics(base, W=20)
    np.testing.assert_allclose(bigger.arrays()["inventory"], 2 * b["inventory"])
    assert (bigger.W, bigger.C_f, bigger.C_v) == (20.0, base.C_f, base.C_v)


def test_a_state_seen_before_reuses_its_plan() -> None:
    env = toy_env()
    policy = sp(env, scenarios=8, leaves=4)
    for seed in (0, 1):
        obs, info = env.reset(seed=seed)
        policy.reset(env)
        policy.act(obs, info)
    assert len(policy.stage_seconds) == 2
    assert len(policy.solve_seconds) == 1  # s_0 is solved once
    assert policy.plans[0] is policy.plans[1]

"""The copper reproduction runs end to end on one cell (tiny budgets) with the bound beside it.

Its numbers are checked against an independent recomputation on the same draws
(episode ``k`` from seed ``k``): the CCP denominator, the LP and rule columns, the
bound, and the trained agent reloaded from its run folder.
"""

import csv
import re
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from stagewise.bench import copper

INSTANCE, EPISODES, SEED = "5E24M-LH-0", 3, 0


@contextmanager
def no_bar(description: str, total: int):
    yield lambda n=1: None


def _episode_costs(policy, env) -> np.ndarray:
    """Total cost (cu) per episode, from the reward with the env's own scale (not the bench's)."""
    from stagewise.core.policy import evaluate

    result = evaluate(policy, env, EPISODES, SEED)
    return np.array([-e.reward for e in result.episodes]) / env.config.reward_scale


def test_one_cell_reproduction_writes_tables_figures_and_the_bound_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stagewise.agents.dah_ddpg import load_policy
    from stagewise.problems.copper_blending import baselines
    from stagewise.problems.copper_blending.bound import clairvoyant_costs
    from stagewise.problems.copper_blending.env import CopperBlendingEnv

    monkeypatch.setattr(copper, "TUNING_EPISODES", 2)
    results = copper.reproduce(
        tmp_path,
        Console(quiet=True),
        no_bar,
        repeats=1,
        episodes=EPISODES,
        seed=SEED,
        backend="inline",
        steps=200,
        open_loop="rule",
        scales="5E24M",
        mixes="LH",
        sp_scenarios=4,
        sp_leaves=2,
    )
    (result,) = results
    assert result["instance"] == INSTANCE
    rho, episodes = result["rho"], result["episodes"]
    # the methods of the tables, in their order; no open-loop agent with open_loop="rule"
    assert list(rho) == ["ccp", "lp", "rule", "open-loop-rule", "sp", "drl", "bound"]

    # recomputed on the same draws, outside the pipeline
    env = CopperBlendingEnv({"instance": INSTANCE}, action_mode="hybrid")
    ccp = _episode_costs(baselines.ccp(env), env)
    np.testing.assert_allclose(episodes["ccp"]["total"], ccp, rtol=1e-9)
    assert result["ccp_cost"] == pytest.approx(ccp.mean(), rel=1e-9)
    lp = _episode_costs(baselines.lp(env), env)
    assert rho["lp"] == pytest.approx(lp.mean() / ccp.mean(), rel=1e-9)
    fraction, alpha = map(
        float, re.fullmatch(r"rule\(f=(.+), alpha1=(.+)\)", result["rule"]).groups()
    )
    rule = _episode_costs(baselines.two_stage(env, fraction, alpha), env)
    assert rho["rule"] == pytest.approx(rule.mean() / ccp.mean(), rel=1e-9)
    drl = _episode_costs(load_policy(Path(result["run_dir"]) / "drl"), env)
    np.testing.assert_allclose(episodes["drl"]["total"], drl, rtol=1e-9)
    assert rho["drl"] == pytest.approx(drl.mean() / ccp.mean(), rel=1e-9)
    from stagewise.problems.copper_blending.sp import sp

    feed_env = CopperBlendingEnv({"instance": INSTANCE, "control": "feed"}, action_mode="hybrid")
    sp_costs = _episode_costs(sp(feed_env, 4, 2), feed_env)
    np.testing.assert_allclose(episodes["sp"]["total"], sp_costs, rtol=1e-9)
    assert rho["sp"] == pytest.approx(sp_costs.mean() / ccp.mean(), rel=1e-9)
    bound = clairvoyant_costs(env, EPISODES, SEED)
    np.testing.assert_allclose(episodes["bound"]["total"], bound, rtol=1e-9)
    assert rho["bound"] == pytest.approx(bound.mean() / ccp.mean(), rel=1e-9)

    # the perfect-information floor: below every policy in every episode (same draws), not
    # only on average, and a real floor (positive; not every policy's cost)
    for name in ("ccp", "lp", "rule", "open-loop-rule", "sp", "drl"):
        assert np.all(bound <= np.array(episodes[name]["total"]) + 1e-6), name
        assert rho["bound"] < rho[name], name
    assert 0.5 < rho["bound"] < 1.0
    # the closed-loop rule inspects after its first stage: two stages, CCP and LP one
    assert episodes["rule"]["stages"] == 2.0
    assert episodes["ccp"]["stages"] == episodes["lp"]["stages"] == 1.0

    with (tmp_path / "cells.csv").open() as f:
        reader = csv.DictReader(f)
        (row,) = list(reader)
        columns = [c for c in reader.fieldnames or [] if c.startswith("rho_")]
    assert columns == [
        "rho_ccp", "rho_lp", "rho_rule", "rho_open-loop-rule", "rho_sp", "rho_drl", "rho_bound",
    ]  # fmt: skip
    assert float(row["C_ccp"]) == pytest.approx(ccp.mean(), abs=0.06)
    for name, value in rho.items():
        assert float(row[f"rho_{name}"]) == pytest.approx(value, abs=1e-4), name
    assert float(row["rho_lp"]) == pytest.approx(lp.mean() / ccp.mean(), abs=1e-4)
    # DAH-DDPG's default two restarts (seeds 0 and 1): the kept one is recorded
    assert result["selected_seed"]["drl"] in {0, 1}
    assert int(row["seed_drl"]) == result["selected_seed"]["drl"]
    assert result["train_cpu_seconds"]["drl"] > 0
    summary = (tmp_path / "summary.md").read_text()
    assert "bound mean" in summary
    (cell,) = [line for line in summary.splitlines() if line.startswith("| 5E24M | LH |")]
    assert f"| {round(rho['bound'], 4)} |" in cell and f"| {round(rho['rule'], 4)} |" in cell
    for figure in ("fig6_rho_mean", "fig7_costs", "fig8_violation_radar", "fig9_open_loop"):
        assert (tmp_path / f"{figure}.png").exists(), figure

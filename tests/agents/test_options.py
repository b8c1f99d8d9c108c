"""The options that make large-magnitude problems learnable, each against its absence.

Observation normalisation (saved with the policy and applied by ``load_policy``),
the Gaussian mean squashed into the action Box, reward and cost scaling, the PID
Lagrangian, cost-limit annealing and CPO's recovery that still improves the reward.
"""

from __future__ import annotations

import csv

import gymnasium as gym
import numpy as np
import pytest
import torch

from stagewise.agents import get_agent
from stagewise.agents.common.costs import CostSpec
from stagewise.agents.common.lagrange import (
    LagrangeMultipliers,
    PIDLagrangeMultipliers,
    make_multipliers,
)
from stagewise.agents.common.normalize import ObservationNormalizer
from stagewise.agents.common.onpolicy import limits_now, load_policy
from stagewise.agents.cpo import cpo_step
from stagewise.agents.ppo_lag import PPOLagConfig
from tests.agents.toy_tasks import SpeedTask

torch.set_num_threads(1)
TINY = {"steps_per_epoch": 100, "num_envs": 2, "update_epochs": 2, "minibatch_size": 50}


class OffsetSpeedTask(SpeedTask):
    """The speed task observed through a large offset and scale (raw inputs near 1000)."""

    def __init__(self):
        super().__init__()
        self.observation_space = gym.spaces.Box(0.0, 2000.0, (1,), dtype=np.float32)

    def _obs(self):
        return (1000.0 + 100.0 * super()._obs()).astype(np.float32)


# ------------------------------------------------------- observation normalisation
def test_running_moments_equal_those_of_all_observations():
    rng = np.random.default_rng(0)
    batches = [rng.normal(5.0, 3.0, (n, 4)) for n in (1, 7, 64, 3)]
    norm = ObservationNormalizer(4)
    for batch in batches:
        norm.update(batch)
    everything = np.concatenate(batches)
    np.testing.assert_allclose(norm.mean.numpy(), everything.mean(0), rtol=1e-12)
    np.testing.assert_allclose(norm.var.numpy(), everything.var(0), rtol=1e-12)
    z = norm.normalize(everything)
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(z.std(0), 1.0, atol=1e-5)


def test_normaliser_is_saved_with_the_policy_and_used_at_evaluation(tmp_path):
    spec = get_agent("ppo-lag")
    cfg = spec.config(total_steps=200, cost_limit=3.0, normalize_obs=True, **TINY)
    trained = spec.train(OffsetSpeedTask, cfg, tmp_path)
    loaded = load_policy(tmp_path)
    norm = loaded.model.obs_norm
    assert norm is not None and float(norm.count) == 200  # every observation of the rollout
    assert 1000.0 < float(norm.mean[0]) < 1100.0
    env = OffsetSpeedTask()
    obs, info = env.reset(seed=0)
    assert np.array_equal(trained.act(obs, info), loaded.act(obs, info))
    # the saved networks alone, fed raw observations, act differently: the statistics matter
    with torch.no_grad():
        raw = loaded.model.actor.mode(torch.as_tensor(obs[None]))
        scaled = loaded.model.actor.mode(torch.from_numpy(norm.normalize(obs[None])))
    assert not torch.allclose(raw, scaled)


def test_checkpoint_without_normalisation_has_no_statistics(tmp_path):
    spec = get_agent("ppo")
    spec.train(SpeedTask, spec.config(total_steps=100, **TINY), tmp_path)
    assert load_policy(tmp_path).model.obs_norm is None


# ------------------------------------------------------------------ squashed mean
@pytest.mark.parametrize("squash", [False, True])
def test_squashed_mean_stays_in_the_box_where_the_plain_one_drifts_out(squash, tmp_path):
    # unconstrained, the speed task pays most at full speed (a = +1, the upper bound):
    # samples past the bound are clipped to it, the ones below push the mean up
    spec = get_agent("ppo")
    cfg = spec.config(total_steps=1000, actor_lr=0.03, squash_mean=squash, **TINY)
    trained = spec.train(SpeedTask, cfg, tmp_path)
    loaded = load_policy(tmp_path)
    obs = torch.linspace(0.0, 1.0, 11).unsqueeze(-1)
    with torch.no_grad():
        mean = loaded.model.actor.mode(obs)
        assert torch.equal(mean, trained.model.actor.mode(obs))
    if squash:
        assert float(mean.max()) <= 1.0 and float(mean.min()) > 0.5
    else:
        assert float(mean.min()) > 1.0


# ------------------------------------------------------------ reward/cost scaling
def test_critics_learn_scaled_values_while_logs_keep_problem_units(tmp_path):
    spec = get_agent("ppo-lag")
    rows, values = {}, {}
    for scale in (1.0, 0.01):
        cfg = spec.config(
            total_steps=300, cost_limit=3.0, reward_scale=scale, cost_scale=scale, **TINY
        )
        run = tmp_path / str(scale)
        policy = spec.train(SpeedTask, cfg, run)
        rows[scale] = list(csv.DictReader((run / "progress.csv").open()))
        with torch.no_grad():
            obs = torch.tensor([[1.0]])
            values[scale] = (
                float(policy.model.values(obs)),
                float(policy.model.cost_critic(obs)[0, 0]),
            )
    # the first epoch's episodes are the same, logged in the task's units
    assert rows[1.0][0]["ep_reward_mean"] == rows[0.01][0]["ep_reward_mean"]
    assert rows[1.0][0]["ep_cost_mean"] == rows[0.01][0]["ep_cost_mean"]
    # episode reward ~ 7.5 and cost ~ 5 at the start: unscaled critics head for them,
    # scaled ones for a hundredth
    assert values[1.0][0] > 1.0 and abs(values[0.01][0]) < 0.5
    assert values[1.0][1] > 1.0 and abs(values[0.01][1]) < 0.5


# ---------------------------------------------------------------- PID Lagrangian
def test_pid_multiplier_follows_stooke_et_al_algorithm_2():
    pid = PIDLagrangeMultipliers(1, kp=1.0, ki=0.1, kd=0.5)
    limit = np.array([10.0])
    # J_C = 14: e = 4, I = 4, no previous cost -> lambda = 4 + 0.4
    np.testing.assert_allclose(pid.update(np.array([14.0]), limit), [4.4])
    # J_C = 16: e = 6, I = 10, rise 2 -> 6 + 1.0 + 1.0
    np.testing.assert_allclose(pid.update(np.array([16.0]), limit), [8.0])
    # J_C = 8: e = -2, I = 8, no rise -> -2 + 0.8 = -1.2, projected to 0
    np.testing.assert_allclose(pid.update(np.array([8.0]), limit), [0.0])
    np.testing.assert_allclose(pid.integral, [8.0])


def closed_loop(multipliers, lag: int = 3, epochs: int = 80) -> np.ndarray:
    """Episode costs of a policy answering lambda ``lag`` epochs late: J_C = 20 / (1 + lambda)."""
    lams, costs = [0.0] * lag, []
    for _ in range(epochs):
        cost = 20.0 / (1.0 + lams[-lag])
        costs.append(cost)
        lams.append(float(multipliers.update(np.array([cost]), np.array([10.0]))[0]))
    return np.array(costs)


def test_pid_multiplier_answers_in_proportion_to_the_violation():
    small, large = (PIDLagrangeMultipliers(1, kp=0.1, ki=0.01, kd=0.0) for _ in range(2))
    plain_small, plain_large = (LagrangeMultipliers(1, lr=0.05) for _ in range(2))
    limit = np.array([10.0])
    ratio = large.update(np.array([30.0]), limit) / small.update(np.array([12.0]), limit)
    np.testing.assert_allclose(ratio, 10.0)  # a violation 10x as large: 10x the multiplier
    plain = plain_large.update(np.array([30.0]), limit) / plain_small.update(
        np.array([12.0]), limit
    )
    np.testing.assert_allclose(
        plain, 1.0, rtol=1e-5
    )  # Adam's first step has the same size either way


def test_pid_multiplier_settles_a_lagging_policy_at_the_limit():
    costs = closed_loop(PIDLagrangeMultipliers(1, kp=0.05, ki=0.01, kd=0.05))
    assert costs[0] == 20.0 and abs(costs[-10:].mean() - 10.0) < 0.3
    assert np.abs(costs[40:] - 10.0).max() < 1.0


def test_lambda_method_selects_the_update():
    cfg = PPOLagConfig(lambda_method="pid", pid_kp=0.2)
    assert isinstance(make_multipliers(2, cfg), PIDLagrangeMultipliers)
    assert isinstance(make_multipliers(2, PPOLagConfig()), LagrangeMultipliers)
    with pytest.raises(ValueError, match="lambda_method"):
        PPOLagConfig(lambda_method="bisection")


def test_pid_ppo_lag_trains_and_resumes_its_controller(tmp_path):
    spec = get_agent("ppo-lag")
    cfg = spec.config(total_steps=300, cost_limit=1.0, lambda_method="pid", pid_kp=1.0, **TINY)
    spec.train(SpeedTask, cfg, tmp_path)
    rows = list(csv.DictReader((tmp_path / "progress.csv").open()))
    assert float(rows[0]["lambda_cost"]) > 0.0  # proportional: violated from the first epoch
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["algo"]["multipliers"]
    assert set(state) == {"integral", "previous_cost", "lam"}


# ------------------------------------------------------------- limit annealing
def test_limit_anneals_linearly_from_a_loose_start():
    costs = CostSpec.from_config(2.0, None)
    np.testing.assert_allclose(limits_now(costs, 50.0, 0.5, 0.0), [50.0])
    np.testing.assert_allclose(limits_now(costs, 50.0, 0.5, 0.25), [26.0])
    np.testing.assert_allclose(limits_now(costs, 50.0, 0.5, 0.9), [2.0])
    np.testing.assert_allclose(limits_now(costs, None, 0.5, 0.0), [2.0])
    families = CostSpec.from_config(0.0, {"a": 1.0, "b": 80.0})
    np.testing.assert_allclose(families.annealed(50.0, 0.0), [50.0, 80.0])  # never tighter


def test_annealed_limit_reaches_the_algorithm(tmp_path):
    spec = get_agent("ppo-lag")
    cfg = spec.config(
        total_steps=400, cost_limit=1.0, cost_limit_start=9.0, cost_limit_anneal=0.5, **TINY
    )
    spec.train(SpeedTask, cfg, tmp_path)
    rows = list(csv.DictReader((tmp_path / "progress.csv").open()))
    assert [float(r["limit_cost"]) for r in rows] == [5.0, 1.0, 1.0, 1.0]
    # loose at first: episodes of cost ~5 against a limit of 5 barely move lambda
    assert float(rows[0]["lambda_cost"]) < float(rows[-1]["lambda_cost"])


# ---------------------------------------------------------------- CPO recovery
def test_cpo_recovery_can_still_improve_the_reward():
    # H = I, reward along x1, cost along x2, violated by 2; trust region |x| <= 1
    g, b, c, delta = np.array([1.0, 0.0]), np.array([[0.0, 1.0]]), np.array([2.0]), 0.5
    pure, recovery = cpo_step(g, b, g, b, c, delta)
    assert recovery
    np.testing.assert_allclose(pure, [0.0, -1.0], atol=1e-6)  # all of the step on the cost
    soft, recovery = cpo_step(g, b, g, b, c, delta, recovery_radius=0.6)
    assert recovery
    np.testing.assert_allclose(soft, [0.8, -0.6], atol=1e-5)  # 60 % on cost, rest on reward
    assert g @ soft > 0 and b[0] @ soft < 0
    assert soft @ soft <= 2 * delta + 1e-6


# ------------------------------------------------------------------------ resume
@pytest.mark.parametrize("name", ["ppo-lag", "ddpg-lag"])
def test_resume_with_every_option_equals_the_uninterrupted_run(name, tmp_path):
    from tests.agents.test_training import Killed, assert_same, kill_after, parameters, tiny

    options = {
        "reward_scale": 0.1,
        "cost_scale": 0.5,
        "cost_limit_start": 8.0,
        "lambda_method": "pid",
    }
    if name == "ppo-lag":
        options["normalize_obs"] = True
    else:
        options["learning_starts"] = 150
    spec, cfg = tiny(name, total_steps=400, cost_limit=2.0, **options)
    env_fn = speed_task_with_long_episodes
    spec.train(env_fn, cfg, tmp_path / "full")
    with pytest.raises(Killed):
        spec.train(env_fn, cfg, tmp_path / "resumed", progress=kill_after(250))
    spec.train(env_fn, cfg, tmp_path / "resumed")
    assert_same(parameters(tmp_path / "full"), parameters(tmp_path / "resumed"))
    full = torch.load(tmp_path / "full" / "checkpoint.pt", weights_only=True)
    resumed = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=True)
    if name == "ppo-lag":
        for key in ("obs_norm.mean", "obs_norm.var", "obs_norm.count"):
            assert torch.equal(full["model"][key], resumed["model"][key])


def speed_task_with_long_episodes():
    return SpeedTask(horizon=70)  # episodes run across epoch boundaries

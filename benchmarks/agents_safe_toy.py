"""Safe agents on the speed task, whose constrained optimum is known in closed form.

Every safe agent must end (deterministic policy) within 5 % of the optimal
episode reward with episode cost <= limit + 5 %; unconstrained PPO, the
baseline of the same run, must exceed the limit. A last run checks the
per-family mode: two machines, one limit each (PPO-Lag, one multiplier per family).

Run: ``PYTHONPATH=src:. python benchmarks/agents_safe_toy.py [--agents a,b] [--seed S]``
(``.`` on the path for ``tests/agents/toy_tasks.py``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.agents.toy_tasks import SpeedTask, constrained_optimum, speed_task

from stagewise.agents import get_agent
from stagewise.core.policy import evaluate

LIMIT = 5.0
TOLERANCE = 0.05
ON_POLICY = {"total_steps": 60_000, "steps_per_epoch": 1000, "num_envs": 4}
# plain gradient steps on lambda (proportional to the violation) settle here; Adam's
# fixed-size steps keep the on-policy multipliers circling the optimum
DUAL_SGD = {"lambda_optimizer": "sgd", "lambda_lr": 0.05}
SETTINGS = {
    "ppo": ON_POLICY,
    "ppo-lag": {**ON_POLICY, **DUAL_SGD},
    "trpo-lag": {**ON_POLICY, **DUAL_SGD},
    "cpo": ON_POLICY,
    "crpo": ON_POLICY,
    "p3o": ON_POLICY,
    "ddpg-lag": {
        "total_steps": 20_000,
        "steps_per_epoch": 500,
        "learning_starts": 1000,
        "hidden": (64, 64),
        "lambda_lr": 0.1,
    },
}


def run(
    name: str, seed: int, dims: int, limits: dict | None, steps: int | None = None
) -> tuple[float, dict, float]:
    spec = get_agent(name)
    options = {**SETTINGS[name], "seed": seed}
    if steps is not None:
        options["total_steps"] = steps
    if limits is None:
        options["cost_limit"] = LIMIT
    else:
        options["cost_limits"] = limits
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as run_dir:
        policy = spec.train(speed_task(dims), spec.config(**options), run_dir)
    summary = evaluate(policy, SpeedTask(dims), episodes=5, seed=0).summary()
    return summary["reward_mean"], summary, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", default=",".join(SETTINGS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    optimum, _ = constrained_optimum([LIMIT])
    print(f"speed task, 1 machine, cost limit {LIMIT}: optimal reward {optimum:.3f}")
    print(f"{'agent':10s} {'reward':>8s} {'gap %':>7s} {'cost':>7s} {'seconds':>8s}  verdict")
    failures = 0
    for name in args.agents.split(","):
        reward, summary, seconds = run(name, args.seed, 1, None)
        cost = summary["cost_mean"]
        gap = 100 * (optimum - reward) / optimum
        if name == "ppo":
            ok = cost > LIMIT
            verdict = f"exceeds limit: {'PASS' if ok else 'FAIL'} (baseline)"
        else:
            ok = abs(gap) <= 100 * TOLERANCE and cost <= LIMIT * (1 + TOLERANCE)
            verdict = "PASS" if ok else "FAIL"
        failures += not ok
        print(f"{name:10s} {reward:8.3f} {gap:7.2f} {cost:7.3f} {seconds:8.1f}  {verdict}")
    limits = {"energy_0": 5.0, "energy_1": 3.0}
    optimum2, speeds = constrained_optimum(list(limits.values()))
    reward, summary, seconds = run("ppo-lag", args.seed, 2, limits, steps=100_000)
    costs = {k: v["mean"] for k, v in summary["costs"].items()}
    gap = 100 * (optimum2 - reward) / optimum2
    ok = abs(gap) <= 100 * TOLERANCE and all(
        costs[k] <= d * (1 + TOLERANCE) for k, d in limits.items()
    )
    failures += not ok
    print(
        f"per-family, 2 machines, limits {limits}: optimal reward {optimum2:.3f} "
        f"(speeds {speeds.tolist()})"
    )
    print(
        f"ppo-lag    {reward:8.3f} {gap:7.2f} costs {costs} {seconds:.1f} s  "
        f"{'PASS' if ok else 'FAIL'}"
    )
    print(f"{failures} failure(s)")


if __name__ == "__main__":
    main()

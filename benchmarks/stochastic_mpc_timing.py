"""MPC decision time per step and MPC vs the clairvoyant bound on the stochastic variants.

Usage: PYTHONPATH=src python benchmarks/stochastic_mpc_timing.py [slug ...] [--episodes N]
Prints one JSON line per problem: median/p90 decision seconds of ``mpc`` (every step,
build + solve + encode), and per episode (seeds 0..N-1, common random numbers) the reward
and cost of ``mpc`` and ``clairvoyant`` under ``uncertainty="forecast"`` (default errors).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import stagewise.problems  # noqa: F401  (registers the problems)
from stagewise.core.registry import get_problem, load_object

PROBLEMS = {
    "inventory": {},
    "unit-commitment": {},
    "gtep": {},
    "grid-storage": {},
    "rtn": {},
    "stn": {},
    "sched-maint": {},
    "blending": {},
    "asu": {},
}


def episode(policy, env, seed: int) -> tuple[float, float, list[float]]:
    obs, info = env.reset(seed=seed)
    policy.reset(env)
    reward = cost = 0.0
    times = []
    done = False
    while not done:
        start = time.perf_counter()
        action = policy.act(obs, info)
        times.append(time.perf_counter() - start)
        obs, r, terminated, truncated, info = env.step(action)
        reward, cost, done = reward + float(r), cost + float(info["cost"]), terminated or truncated
    return reward, cost, times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("slugs", nargs="*", default=list(PROBLEMS))
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--window", type=int, default=None)
    args = parser.parse_args()
    for slug in args.slugs:
        spec = get_problem(slug)
        env = spec.env_class()(uncertainty="forecast", **PROBLEMS.get(slug, {}))
        options = {} if args.window is None else {"window": args.window}
        mpc = load_object(spec.policies["mpc"])(env, **options)
        clairvoyant = load_object(spec.policies["clairvoyant"])(env)
        rows, all_times = [], []
        for seed in range(args.episodes):
            m_reward, m_cost, times = episode(mpc, env, seed)
            c_reward, c_cost, _ = episode(clairvoyant, env, seed)
            all_times += times
            rows.append(
                {
                    "seed": seed,
                    "mpc": [round(m_reward, 3), round(m_cost, 3)],
                    "clairvoyant": [round(c_reward, 3), round(c_cost, 3)],
                }
            )
        t = np.array(all_times)
        print(
            json.dumps(
                {
                    "problem": slug,
                    "window": args.window,
                    "steps": len(t),
                    "median_ms": round(1000 * float(np.median(t)), 1),
                    "p90_ms": round(1000 * float(np.quantile(t, 0.9)), 1),
                    "episodes": rows,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()

"""MPC decision time per step and MPC vs the clairvoyant bound on the stochastic variants.

Usage: PYTHONPATH=src python benchmarks/stochastic_mpc_timing.py [slug ...] [--episodes N]
    [--baseline]
Prints one JSON line per problem: median/p90 decision milliseconds of ``mpc`` (every step,
build or update + solve + encode; wall clock and process CPU time, which a loaded machine
inflates less), and per episode (seeds 0..N-1, common random numbers) the reward and cost
of ``mpc`` and ``clairvoyant`` under ``uncertainty="forecast"`` (default errors).
``--baseline``: also ``mpc`` with ``warm_start=False`` (the model rebuilt and solved cold
each step) on the same episodes, interleaved, and the ratio of the medians (cold / warm).
"""

from __future__ import annotations

import argparse
import json
import os
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


def episode(policy, env, seed: int) -> tuple[float, float, list[float], list[float]]:
    obs, info = env.reset(seed=seed)
    policy.reset(env)
    reward = cost = 0.0
    wall, cpu = [], []
    done = False
    while not done:
        start, start_cpu = time.perf_counter(), time.process_time()
        action = policy.act(obs, info)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        obs, r, terminated, truncated, info = env.step(action)
        reward, cost, done = reward + float(r), cost + float(info["cost"]), terminated or truncated
    return reward, cost, wall, cpu


def ms(values: list[float], q: float = 0.5) -> float:
    return round(1000 * float(np.quantile(np.array(values), q)), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("slugs", nargs="*", default=list(PROBLEMS))
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--window", type=int, default=None)
    parser.add_argument("--baseline", action="store_true")
    args = parser.parse_args()
    print(json.dumps({"load_average": [round(x, 2) for x in os.getloadavg()]}), flush=True)
    for slug in args.slugs:
        spec = get_problem(slug)
        env = spec.env_class()(uncertainty="forecast", **PROBLEMS.get(slug, {}))
        options = {} if args.window is None else {"window": args.window}
        factory = load_object(spec.policies["mpc"])
        mpc = factory(env, **options)
        cold = factory(env, warm_start=False, **options) if args.baseline else None
        clairvoyant = load_object(spec.policies["clairvoyant"])(env)
        rows, wall, cpu, cold_wall, cold_cpu = [], [], [], [], []
        for seed in range(args.episodes):
            m_reward, m_cost, times, cpus = episode(mpc, env, seed)
            c_reward, c_cost, _, _ = episode(clairvoyant, env, seed)
            wall, cpu = wall + times, cpu + cpus
            row = {
                "seed": seed,
                "mpc": [round(m_reward, 3), round(m_cost, 3)],
                "clairvoyant": [round(c_reward, 3), round(c_cost, 3)],
            }
            if cold is not None:
                b_reward, b_cost, times, cpus = episode(cold, env, seed)
                cold_wall, cold_cpu = cold_wall + times, cold_cpu + cpus
                row["mpc_cold"] = [round(b_reward, 3), round(b_cost, 3)]
            rows.append(row)
        line = {
            "problem": slug,
            "window": args.window,
            "steps": len(wall),
            "median_ms": ms(wall),
            "p90_ms": ms(wall, 0.9),
            "median_cpu_ms": ms(cpu),
        }
        if cold is not None:
            line |= {
                "cold_median_ms": ms(cold_wall),
                "cold_median_cpu_ms": ms(cold_cpu),
                "speedup_wall": round(ms(cold_wall) / max(ms(wall), 0.1), 2),
                "speedup_cpu": round(ms(cold_cpu) / max(ms(cpu), 0.1), 2),
            }
        print(json.dumps(line | {"episodes": rows}), flush=True)


if __name__ == "__main__":
    main()

"""Steps per CPU second of the single and the native vector env (random actions).

``time.process_time`` counts only this process's CPU time, so on a shared,
overloaded machine it still measures the cost of a step (where wall-clock rates
drop with the load). Reports the best of ``--repeat`` runs, and the ratio to the
published code's single-env rate (``throughput.PUBLISHED_RATE``).

    PYTHONPATH=src python benchmarks/cpu_rate.py blending inventory gtep [--repeat 7]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import stagewise  # noqa: F401  (registers the problems)
from stagewise.core.registry import get_problem

try:
    from throughput import PUBLISHED_RATE
except ImportError:  # run from elsewhere than benchmarks/
    from benchmarks.throughput import PUBLISHED_RATE


def single_cpu_rate(env_id: str, repeat: int, steps: int = 1000) -> float:
    env = gym.make(env_id).unwrapped
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (steps, *env.action_space.shape)).astype(np.float32)
    best = 0.0
    for _ in range(repeat):
        env.reset(seed=0)
        start = time.process_time()
        for action in actions:
            if env.step(action)[2]:
                env.reset()
        best = max(best, steps / (time.process_time() - start))
    return best


def vector_cpu_rate(slug: str, repeat: int, num_envs: int = 256, batches: int = 32) -> float:
    venv = get_problem(slug).env_class().make_vector(num_envs)
    shape = (batches, num_envs, *venv.single_action_space.shape)
    actions = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    best = 0.0
    for _ in range(repeat):
        venv.reset(seed=0)
        start = time.process_time()
        for batch in actions:
            venv.step(batch)
        best = max(best, batches * num_envs / (time.process_time() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problems", nargs="+")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"{'problem':<14}{'single/CPU-s':>14}{'x pub':>8}{'vec256/CPU-s':>15}{'x pub':>8}")
    for slug in args.problems:
        spec = get_problem(slug)
        single = single_cpu_rate(spec.env_id, args.repeat)
        vector = vector_cpu_rate(spec.slug, args.repeat)
        pub = PUBLISHED_RATE.get(spec.slug, float("nan"))
        ratios = f"{single / pub:>8.1f}", f"{vector / pub:>8.1f}"
        print(f"{spec.slug:<14}{single:>14,.0f}{ratios[0]}{vector:>15,.0f}{ratios[1]}")


if __name__ == "__main__":
    main()

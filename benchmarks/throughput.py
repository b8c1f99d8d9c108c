"""Environment throughput (steps/s, random actions) against the published SafeOR-Gym code.

For each problem: the single Gymnasium env and the native vector env at 256
and at 4096 envs, all with uniformly random normalized actions drawn up front. The ratio
is against the published code's single-env rate (random actions) quoted in
issues 7 and 15-17, measured on this machine type. Targets: single >= 2x, vector (256)
>= 100x, vector (4096) >= 1M steps/s on one core where the step is array arithmetic.
Problems without a published rate (capacity expansion) show their rates alone.
On a shared machine, ``--repeat 3`` reports the median of three measurements.

    PYTHONPATH=src python benchmarks/throughput.py [--problems unit-commitment gtep]
        [--seconds 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np

import stagewise
from stagewise.core.registry import get_problem

# Published SafeOR-Gym single-env steps/s with random actions (issue 7).
PUBLISHED_RATE = {
    "rtn": 1215.0,
    "stn": 978.0,
    "unit-commitment": 2856.0,
    "gtep": 5159.0,
    "blending": 3548.0,
    "inventory": 5728.0,
    "grid-storage": 6008.0,
    "sched-maint": 10657.0,
    "asu": 8096.0,
}
VECTOR_ENVS = 256
LARGE_BATCH = 4096  # goal: >= 1M steps/s on one core where the step is array arithmetic


def single_rate(env_id: str, seconds: float) -> float:
    env = gym.make(env_id).unwrapped
    actions = np.random.default_rng(0).uniform(-1, 1, (4096, *env.action_space.shape))
    actions = actions.astype(np.float32)
    env.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for action in actions[:512]:
            *_, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()
        steps += 512
        actions = np.roll(actions, 512, axis=0)
    return steps / (time.perf_counter() - start)


def vector_rate(slug: str, seconds: float, envs: int = VECTOR_ENVS) -> float:
    venv = get_problem(slug).env_class().make_vector(envs)
    shape = (max(4, 16384 // envs), envs, *venv.single_action_space.shape)
    actions = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    venv.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for batch in actions:
            venv.step(batch)
        steps += len(actions) * envs
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    known = [spec.slug for spec in stagewise.problems()]
    parser.add_argument("--problems", nargs="*", default=known)
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per measurement")
    parser.add_argument("--repeat", type=int, default=1, help="report the median of this many")
    args = parser.parse_args()
    print(
        f"{'problem':<20}{'single/s':>11}{'x pub':>8}{'vec256/s':>13}{'x pub':>8}"
        f"{'vec4096/s':>13}{'pub/s':>9}"
    )
    for slug in args.problems:
        spec = get_problem(slug)
        runs = range(max(args.repeat, 1))
        single = statistics.median(single_rate(spec.env_id, args.seconds) for _ in runs)
        vector = statistics.median(vector_rate(spec.slug, args.seconds) for _ in runs)
        large = statistics.median(vector_rate(spec.slug, args.seconds, LARGE_BATCH) for _ in runs)
        print(f"{spec.slug:<20}{single:>11,.0f}{_ratio(single, spec.slug)}", end="")
        print(f"{vector:>13,.0f}{_ratio(vector, spec.slug)}{large:>13,.0f}{_published(spec.slug)}")


def _ratio(rate: float, slug: str) -> str:
    published = PUBLISHED_RATE.get(slug)
    return f"{rate / published:>8.1f}" if published else f"{'-':>8}"


def _published(slug: str) -> str:
    published = PUBLISHED_RATE.get(slug)
    return f"{published:>9,.0f}" if published else f"{'-':>9}"


if __name__ == "__main__":
    main()

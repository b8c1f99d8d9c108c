"""Environment throughput (steps/s, random actions) against the published SafeOR-Gym code.

For each problem: the single Gymnasium env and the native vector env at 256
and at 4096 envs, all with uniformly random normalized actions drawn up front. The ratio
is against the published code's single-env rate (random actions) quoted in
issues 7 and 15-17, measured on this machine type. Targets: single >= 2x, vector (256)
>= 100x, vector (4096) >= 1M steps/s on one core where the step is array arithmetic.
Problems without a published rate (capacity expansion) show their rates alone.
On a shared machine, ``--repeat 3`` reports the median of three measurements, and
``--p10`` the rate of the fastest tenth of short blocks of steps (8 single-env steps,
one vector step) instead of the average over the whole time: the rate of the step
itself, nearly unaffected by other processes taking the cores in between.

    PYTHONPATH=src python benchmarks/throughput.py [--problems unit-commitment gtep]
        [--seconds 2] [--repeat 3] [--p10]
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


BLOCK = 8  # single-env steps per timed block (--p10): short, so that a tenth run uninterrupted


def single_rate(env_id: str, seconds: float, p10: bool = False) -> float:
    env = gym.make(env_id).unwrapped
    actions = np.random.default_rng(0).uniform(-1, 1, (4096, *env.action_space.shape))
    actions = actions.astype(np.float32)
    env.reset(seed=0)
    steps, blocks, start = 0, [], time.perf_counter()
    while time.perf_counter() - start < seconds:
        for first in range(0, 512, BLOCK):
            began = time.perf_counter()
            for action in actions[first : first + BLOCK]:
                *_, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    env.reset()
            blocks.append(time.perf_counter() - began)
        steps += 512
        actions = np.roll(actions, 512, axis=0)
    return _rate(steps, time.perf_counter() - start, BLOCK, blocks, p10)


def vector_rate(slug: str, seconds: float, envs: int = VECTOR_ENVS, p10: bool = False) -> float:
    venv = get_problem(slug).env_class().make_vector(envs)
    shape = (max(4, 16384 // envs), envs, *venv.single_action_space.shape)
    actions = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
    venv.reset(seed=0)
    steps, blocks, start = 0, [], time.perf_counter()
    while time.perf_counter() - start < seconds:
        for batch in actions:
            began = time.perf_counter()
            venv.step(batch)
            blocks.append(time.perf_counter() - began)
        steps += len(actions) * envs
    return _rate(steps, time.perf_counter() - start, envs, blocks, p10)


def _rate(steps: int, elapsed: float, per_block: int, blocks: list[float], p10: bool) -> float:
    """Steps/s over the whole time, or (``p10``) of the block at the 10th percentile."""
    if not p10:
        return steps / elapsed
    return per_block / float(np.quantile(blocks, 0.1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    known = [spec.slug for spec in stagewise.problems()]
    parser.add_argument("--problems", nargs="*", default=known)
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per measurement")
    parser.add_argument("--repeat", type=int, default=1, help="report the median of this many")
    parser.add_argument(
        "--p10", action="store_true", help="rate of the fastest tenth of blocks (shared machines)"
    )
    args = parser.parse_args()
    print(
        f"{'problem':<20}{'single/s':>11}{'x pub':>8}{'vec256/s':>13}{'x pub':>8}"
        f"{'vec4096/s':>13}{'pub/s':>9}"
    )
    for slug in args.problems:
        spec = get_problem(slug)
        runs = range(max(args.repeat, 1))
        single = statistics.median(single_rate(spec.env_id, args.seconds, args.p10) for _ in runs)
        vector = statistics.median(vector_rate(spec.slug, args.seconds, p10=args.p10) for _ in runs)
        large = statistics.median(
            vector_rate(spec.slug, args.seconds, LARGE_BATCH, args.p10) for _ in runs
        )
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

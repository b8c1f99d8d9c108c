"""Speed of the copper-blending lower level (elastic Eq. 31) on the 20E100M scale.

Prints the median wall time per solve of the incrementally updated HiGHS model
(:class:`ChanceConstrainedLP`) and of a naive model rebuilt for every call, on
the same requests, and their ratio. Target: median <= 2 ms per call.

    PYTHONPATH=src python benchmarks/copper_lp.py [--instance 20E100M-LH-0] [--calls 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from stagewise.problems.copper_blending.ccp import ChanceConstrainedLP, solve_rebuilt
from stagewise.problems.copper_blending.instances import load_instance

TARGET_MS = 2.0


def requests(instance_name: str, calls: int, seed: int) -> list[tuple]:
    """Stage requests as training produces them: random alpha, weight and inspected melt."""
    inst = load_instance(instance_name)
    rng = np.random.default_rng(seed)
    mean, std = np.asarray(inst.mean), np.asarray(inst.std)
    out = []
    for _ in range(calls):
        melt_weight = float(rng.choice([0.0, rng.uniform(1.0, 7.0)]))
        weight = float(rng.uniform(0.5, inst.W - melt_weight))
        scrap = mean[rng.integers(len(mean))] + std[0] * rng.standard_normal(mean.shape[1])
        composition = np.clip(scrap, 0.0, 1.0)
        out.append((float(rng.uniform(0.05, 0.95)), weight, melt_weight, composition))
    return out


def median_ms(solve, batch: list[tuple]) -> float:
    times = []
    for request in batch:
        start = time.perf_counter()
        solve(*request)
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", default="20E100M-LH-0")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rebuild-calls", type=int, default=300)
    args = parser.parse_args()
    inst = load_instance(args.instance)
    batch = requests(args.instance, args.calls, seed=0)
    lp = ChanceConstrainedLP(inst)
    for request in batch[:20]:  # warm-up: imports, first factorization
        lp.solve(*request)
    fast = median_ms(lp.solve, batch)
    slow = median_ms(lambda *r: solve_rebuilt(inst, *r), batch[: args.rebuild_calls])
    n, m = len(inst.elements), len(inst.materials)
    print(f"instance {inst.name}: N={n} elements, M={m} materials")
    print(f"updated HiGHS model : median {fast:.3f} ms/call over {len(batch)} calls")
    print(f"rebuilt per call    : median {slow:.3f} ms/call over {args.rebuild_calls} calls")
    print(f"speed-up            : {slow / fast:.1f}x")
    print(f"target <= {TARGET_MS} ms: {'met' if fast <= TARGET_MS else 'NOT met'}")


if __name__ == "__main__":
    main()

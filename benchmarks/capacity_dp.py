"""Capacity expansion: exact DP against the paper (Giahi et al.), Monte Carlo and refinement.

Run: ``PYTHONPATH=src python benchmarks/capacity_dp.py [--quick]``. Prints

1. example 1 (Eq. 8, K=1), T=2 and T=3: DP value vs the paper's 7.38 and 32.5,
   the T=2 closed form, and the stage thresholds vs section IV-B;
2. Table I (Eq. 10): DP value, paper value, difference, solve time, the Monte
   Carlo value of the DP policy (100,000 paths, common random numbers) with
   its standard error, and the myopic baseline on the same paths;
3. the refinement study: price/demand nodes, grid width, quadrature.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import time

import numpy as np
from scipy.stats import norm

from stagewise.core.config import load_config
from stagewise.problems.capacity_expansion.baselines import Myopic
from stagewise.problems.capacity_expansion.config import CapacityExpansionConfig
from stagewise.problems.capacity_expansion.dp import solve
from stagewise.problems.capacity_expansion.montecarlo import monte_carlo_value

TABLE_I = {(2, 3): 33.1, (2, 4): 77.8, (2, 5): 135.3, (3, 4): 80.1, (3, 5): 146.5, (4, 5): 150.8}
EXAMPLE1 = {2: 7.38, 3: 32.5}
PATHS = 100_000
SEED = 0


def two_stage_closed_form(cfg: CapacityExpansionConfig) -> float:
    """E[(u p_2 - c_om - c_inv)^+] / (1 + i): the T=2, K=1 optimum (x_1 = 0 is optimal)."""
    forward = cfg.u * cfg.p1 * np.exp(cfg.mu1 + 0.5 * cfg.sigma1**2)
    strike = cfg.c_om + cfg.c_inv
    d1 = (np.log(forward / strike) + 0.5 * cfg.sigma1**2) / cfg.sigma1
    call = forward * norm.cdf(d1) - strike * norm.cdf(d1 - cfg.sigma1)
    return float(call / (1 + cfg.i))


def example_one(paths: int) -> None:
    print("== Example 1 (Eq. 8, price only, K=1) ==")
    analytic = 320.0 / 2920.0
    for horizon, paper in EXAMPLE1.items():
        cfg = load_config(CapacityExpansionConfig, {"uncertainty": "price", "K": 1, "T": horizon})
        sol = solve(cfg)
        mc, se = monte_carlo_value(sol.policy, cfg, paths, SEED)
        print(
            f"T={horizon}: DP {sol.objective:.4f}  paper {paper}  diff {sol.objective - paper:+.4f}"
            f"  MC {mc:.4f} +- {se:.4f}  x1={sol.details['first_stage_decision']}"
            f"  time {sol.solve_time:.2f}s"
        )
        for row in sol.details["thresholds"]:
            if row["stage"] > 1:
                print(f"    stage {row['stage']}: add if p >= {row['price_threshold']:.5f}")
        if horizon == 2:
            closed = two_stage_closed_form(cfg)
            print(
                f"    closed form {closed:.5f} (DP rel. error {sol.objective / closed - 1:+.1e});"
                f" analytic threshold (c_om+c_inv)/u = {analytic:.5f}"
            )
    print("    paper, T=3: DQN thresholds 0.1072 (p2), 0.1110 (p3); MC/analytic 0.1061, 0.1096")


def table_one(paths: int) -> None:
    print("\n== Table I (Eq. 10, price and demand) ==")
    header = (
        f"{'K':>2} {'T':>2} {'DP':>9} {'paper':>7} {'diff':>8} {'diff%':>7} {'time s':>7}"
        f" {'MC(DP policy)':>17} {'(MC-DP)/se':>10} {'myopic MC':>10} {'DP/myopic':>9}"
    )
    print(header)
    for (k, horizon), paper in TABLE_I.items():
        cfg = load_config(CapacityExpansionConfig, {"K": k, "T": horizon})
        sol = solve(cfg)
        mc, se = monte_carlo_value(sol.policy, cfg, paths, SEED)
        myopic, _ = monte_carlo_value(Myopic(cfg), cfg, paths, SEED)
        print(
            f"{k:>2} {horizon:>2} {sol.objective:9.3f} {paper:7.1f} {sol.objective - paper:+8.2f}"
            f" {100 * (sol.objective / paper - 1):+6.1f}% {sol.solve_time:7.2f}"
            f" {mc:9.3f} +- {se:5.3f} {(mc - sol.objective) / se:+10.2f} {myopic:10.3f}"
            f" {sol.objective / myopic:9.4f}"
        )


def refinement(quick: bool) -> None:
    print("\n== Refinement study (value; relative change vs the finest run) ==")
    nodes = (101, 201, 401) if quick else (101, 201, 401, 801)
    cases = [
        ("ex.1 T=3", {"uncertainty": "price", "K": 1, "T": 3}),
        ("K=2 T=3", {"K": 2, "T": 3}),
        ("K=4 T=5", {"K": 4, "T": 5}),
    ]
    for name, config in cases:
        runs = []
        for n in nodes:
            start = time.perf_counter()
            value = solve(config, price_nodes=n, demand_nodes=n).objective
            runs.append((f"nodes {n}x{n}", value, time.perf_counter() - start))
        for width in (4.0, 5.0, 8.0):
            n = nodes[-1]
            value = solve(config, price_nodes=n, demand_nodes=n, width=width).objective
            runs.append((f"nodes {n} width {width:g}", value, float("nan")))
        for points in (20, 60, 150):
            value = solve(config, price_nodes=201, demand_nodes=201, quadrature=points).objective
            runs.append((f"201 nodes, {points}-pt Gauss-Hermite", value, float("nan")))
        finest = runs[len(nodes) - 1][1]
        print(f"-- {name}")
        for label, value, seconds in runs:
            timing = f"  {seconds:6.2f}s" if np.isfinite(seconds) else ""
            print(f"   {label:<32} {value:12.5f}  {value / finest - 1:+.2e}{timing}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 801-node refinement runs")
    parser.add_argument("--paths", type=int, default=PATHS, help="Monte-Carlo paths per check")
    args = parser.parse_args()
    example_one(args.paths)
    table_one(args.paths)
    refinement(args.quick)


if __name__ == "__main__":
    main()

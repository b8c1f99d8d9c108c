"""DAH-DDPG (DRL-CCP) on copper-blending instances against the paper's targets.

For each instance: train DAH-DDPG with its defaults (one torch thread per process;
the default two restarts train at once in two processes), tune the two-stage rules,
and evaluate DRL-CCP, single-stage LP/CCP, the tuned closed-loop rule and the tuned
open-loop rule on the same draws (episode k from seed k), beside the
perfect-information bound on those draws. Prints rho (Eq. 33) per instance, the
training wall time on the 2 cores (targets 5E24M <= 180 s, 20E100M <= 600 s) and
its CPU seconds (the process and its restart workers), and the checks "mean rho <=
0.80" (for DRL-CCP, and for the bound: whether any policy could), "DRL-CCP < open
loop", "open loop < CCP" (the paper's ordering, a property of the baseline) and
"DRL-CCP < tuned rule".

    PYTHONPATH=src python benchmarks/dah_ddpg_copper.py \
        [--instances 5E24M-LH-0,20E100M-LH-0] [--episodes 1000] [--steps N] [--jobs 1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from stagewise.bench.copper import run_instance
from stagewise.bench.executor import Job, run_jobs

TRAIN_SECONDS_TARGET = {"5E24M": 180.0, "20E100M": 600.0}
METHODS = ("lp", "open-loop-rule", "rule", "drl", "bound")


def paired_difference(result: dict, method: str, baseline: str) -> tuple[float, float]:
    """Mean and standard error of ``(C_method - C_baseline) / C_CCP`` over the shared episodes."""
    totals = result["episodes"]
    diff = (np.array(totals[method]["total"]) - np.array(totals[baseline]["total"])) / result[
        "ccp_cost"
    ]
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(diff.size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="5E24M-LH-0,20E100M-LH-0")
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: agent's)")
    parser.add_argument("--jobs", type=int, default=1, help="instances in parallel")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    names = [n.strip() for n in args.instances.split(",") if n.strip()]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [
            Job(
                run_instance,
                {
                    "instance": name,
                    "run_dir": os.path.join(tmp, name),
                    "episodes": args.episodes,
                    "seed": 0,
                    "steps": args.steps,
                    "open_loop": "rule",
                },
            )
            for name in names
        ]
        results = run_jobs(jobs, backend="local" if args.jobs > 1 else "inline", workers=args.jobs)
    print("| instance | C_CCP (cu) | " + " | ".join(f"rho {m}" for m in METHODS), end="")
    print(" | DRL - rule (s.e.) | DRL stages | train wall (s) | target wall (s) | train CPU (s) |")
    print("| --- " * (len(METHODS) + 7) + "|")
    for r in results:
        scale = r["instance"].split("-")[0]
        rhos = " | ".join(f"{r['rho'][m]:.3f}" for m in METHODS)
        target = TRAIN_SECONDS_TARGET.get(scale, float("nan"))
        cpu, wall = r["train_cpu_seconds"]["drl"], r["train_seconds"]["drl"]
        stages = r["episodes"]["drl"]["stages"]
        gain, gain_se = paired_difference(r, "drl", "rule")
        print(f"| {r['instance']} | {r['ccp_cost']:,.0f} | {rhos} | ", end="")
        print(f"{gain:+.4f} ({gain_se:.4f}) | {stages:.2f} | ", end="")
        print(f"{wall:.0f} | {target:.0f} | {cpu:.0f} |")
    mean = {m: sum(r["rho"][m] for r in results) / len(results) for m in METHODS}
    print("mean rho: " + ", ".join(f"{m} {v:.3f}" for m, v in mean.items()))
    print(f"mean DRL-CCP rho <= 0.80: {mean['drl'] <= 0.80} ({mean['drl']:.3f})")
    print(f"mean rho <= 0.80 reachable by any policy: {mean['bound'] <= 0.80} (bound", end="")
    print(
        f" {mean['bound']:.3f}; DRL-CCP takes {(1 - mean['drl']) / (1 - mean['bound']):.2f}", end=""
    )
    print(" of the largest possible saving)")
    below_open = all(r["rho"]["drl"] < r["rho"]["open-loop-rule"] for r in results)
    print(f"DRL-CCP < open-loop rule on every instance: {below_open}")
    open_below_ccp = all(r["rho"]["open-loop-rule"] < 1.0 for r in results)
    print(f"open-loop rule < CCP on every instance (paper's ordering): {open_below_ccp}")
    print(f"DRL-CCP beats the tuned rule on average: {mean['drl'] < mean['rule']}")
    print(f"wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

"""The sp reference policy on the 16 cells: out-of-sample rho beside CCP, the tuned rule and
the perfect-information floor (common random numbers), and its per-stage solve time.

    PYTHONPATH=src python benchmarks/copper_sp.py --episodes 30 [--scenarios 20 --leaves 20]
        [--cells 20E100M-LH-0,...,H62] [--saa-replications 0]

Per-stage time is reported twice: over every decision (a state seen before reuses its plan) and over
the stages actually solved.

The tuned rule is the two-stage rule with the ``(f, alpha_1)`` of
``docs/problems/copper_blending.md`` (tuned on 50 training draws), evaluated on the same
episodes; ``--retune`` tunes it again instead (slower; always for a cell not in that table,
such as H62).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from stagewise.core.policy import evaluate
from stagewise.problems.copper_blending import baselines
from stagewise.problems.copper_blending.bound import clairvoyant_costs
from stagewise.problems.copper_blending.env import CopperBlendingEnv
from stagewise.problems.copper_blending.sp import saa_value, sp

SCALES = ("5E24M", "10E48M", "15E60M", "20E100M")
MIXES = ("LM", "LH", "MH", "LMH")
# (f, alpha_1) of the tuned rule per cell (docs/problems/copper_blending.md, 50 training draws)
TUNED = {
    "5E24M-LM-0": (0.7, 0.65), "5E24M-LH-0": (0.6, 0.65), "5E24M-MH-0": (0.7, 0.65),
    "5E24M-LMH-0": (0.6, 0.65), "10E48M-LM-0": (0.7, 0.2), "10E48M-LH-0": (0.3, 0.5),
    "10E48M-MH-0": (0.8, 0.65), "10E48M-LMH-0": (0.5, 0.65), "15E60M-LM-0": (0.8, 0.65),
    "15E60M-LH-0": (0.5, 0.5), "15E60M-MH-0": (0.8, 0.65), "15E60M-LMH-0": (0.7, 0.65),
    "20E100M-LM-0": (0.8, 0.65), "20E100M-LH-0": (0.8, 0.65), "20E100M-MH-0": (0.8, 0.65),
    "20E100M-LMH-0": (0.8, 0.65),
}  # fmt: skip


def run_cell(name: str, args: argparse.Namespace) -> dict:
    closed = CopperBlendingEnv({"instance": name})
    feed = CopperBlendingEnv({"instance": name, "control": "feed"})
    scale = closed.config.reward_scale
    n, seed = args.episodes, args.seed
    ccp = baselines.total_costs(evaluate(baselines.ccp(closed), closed, n, seed), scale)
    if args.retune or name not in TUNED:
        rule_policy = baselines.rule(closed, 50)
    else:
        rule_policy = baselines.two_stage(closed, *TUNED[name])
    rule = baselines.total_costs(evaluate(rule_policy, closed, n, seed), scale)
    start = time.perf_counter()
    policy = sp(feed, args.scenarios, args.leaves, validate=not args.no_validate)
    result = evaluate(policy, feed, n, seed)
    sp_seconds = time.perf_counter() - start
    cost = baselines.total_costs(result, scale)
    floor = clairvoyant_costs(closed, n, seed)
    base = ccp.mean()
    diff = (cost - rule) / base
    row = {
        "instance": name,
        "rho_rule": rule.mean() / base,
        "rho_sp": cost.mean() / base,
        "diff_sp_rule": diff.mean(),
        "diff_se": diff.std(ddof=1) / np.sqrt(n),
        "rho_floor": floor.mean() / base,
        "sp_above_floor": bool(np.all(cost >= floor - 1e-6)),
        "sp_stages": float(np.mean([e.length for e in result.episodes])),
        "scenarios": policy.scenarios,
        "stage_median_s": float(np.median(policy.stage_seconds)),
        "solve_median_s": float(np.median(policy.solve_seconds)),
        "solve_max_s": float(np.max(policy.solve_seconds)),
        "sp_wall_s": sp_seconds,
    }
    if args.saa_replications:
        v = saa_value(feed, args.scenarios, args.leaves, args.saa_replications)
        row |= {"saa_in_sample": v["mean"], "saa_se": v["se"], "ccp_cost": base}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--leaves", type=int, default=20)
    parser.add_argument("--cells", default=",".join(f"{s}-{m}-0" for s in SCALES for m in MIXES))
    parser.add_argument("--saa-replications", type=int, default=0)
    parser.add_argument("--retune", action="store_true")
    parser.add_argument(
        "--no-validate",
        action="store_true",
        help="sp compares stop/continue in sample (not on independent draws)",
    )
    parser.add_argument("--out", default=None, help="write the rows as JSON")
    args = parser.parse_args()
    rows = []
    keys = ("rho_rule", "rho_sp", "diff_sp_rule", "diff_se", "rho_floor", "sp_stages")
    print(
        "| instance | S | " + " | ".join(keys) + " | decision median (s) | solve median (s) "
        "| floor ok |"
    )
    for name in args.cells.split(","):
        row = run_cell(name.strip(), args)
        rows.append(row)
        cells = " | ".join(f"{row[k]:.4f}" for k in keys)
        print(
            f"| {name} | {row['scenarios']} | {cells} | {row['stage_median_s']:.3f} "
            f"| {row['solve_median_s']:.3f} | {row['sp_above_floor']} |",
            flush=True,
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()

"""Search for a published-regime economics preset (issue 19, part 2).

Criterion, fixed before any DRL result is looked at: a point of the grid qualifies when
the tuned open-loop rule (``feedback="open"``, the two-stage grid of baselines.py, tuned on
``--tuning`` training draws) or the open-loop feed plan ``sp-open`` reaches mean rho <= 0.90
over single-stage CCP on the evaluation cells, and LP stays above CCP (rho > 1) in every
cell (Fig. 7's ordering).
Among qualifying points the one with the fewest and smallest changes from the defaults
is kept.

    PYTHONPATH=src python benchmarks/copper_economics_search.py --points "C_f=30,C_e_star=5" \
        "spec_scale=0.5" --cells 5E24M-LH-0,15E60M-MH-0 --episodes 100 --tuning 20

Each point is a comma list of KEY=VALUE (keys of ``apply_economics``); "default" is the
unchanged instance.
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
from stagewise.problems.copper_blending.instances import apply_economics, load_instance
from stagewise.problems.copper_blending.sp import sp_open


def parse_point(text: str) -> dict[str, float]:
    if text.strip() == "default":
        return {}
    return {k.strip(): float(v) for k, v in (item.split("=") for item in text.split(","))}


def run_point(
    changes: dict[str, float],
    cells: list[str],
    episodes: int,
    tuning: int,
    skip_rule: bool,
    skip_open_rule: bool = False,
) -> dict:
    rows = []
    for cell in cells:
        inst = apply_economics(load_instance(cell), **changes).model_dump()
        closed = CopperBlendingEnv({"instance": inst})
        opened = CopperBlendingEnv({"instance": inst, "feedback": "open"})
        feed = CopperBlendingEnv({"instance": inst, "control": "feed"})

        def cost(policy, env):
            result = evaluate(policy, env, episodes, 0)
            return baselines.total_costs(result, env.unwrapped.config.reward_scale).mean()

        ccp = cost(baselines.ccp(closed), closed)
        rows.append(
            {
                "cell": cell,
                "lp": cost(baselines.lp(closed), closed) / ccp,
                "rule": (
                    float("nan")
                    if skip_rule
                    else cost(baselines.rule(closed, tuning), closed) / ccp
                ),
                "open": float("nan")
                if skip_open_rule
                else cost(baselines.open_loop(opened, tuning), opened) / ccp,
                "sp_open": cost(sp_open(feed), feed) / ccp,
                "floor": clairvoyant_costs(closed, episodes, 0).mean() / ccp,
            }
        )
    keys = ("lp", "rule", "open", "sp_open", "floor")
    mean = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    open_best = float(np.nanmin([mean["open"], mean["sp_open"]]))
    qualifies = open_best <= 0.90 and all(r["lp"] > 1.0 for r in rows)
    return {"changes": changes, "cells": rows, "mean": mean, "qualifies": qualifies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", nargs="+", default=["default"])
    parser.add_argument("--cells", default="5E24M-LH-0,15E60M-MH-0")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--tuning", type=int, default=20)
    parser.add_argument("--out", default=None)
    parser.add_argument(
        "--skip-rule",
        action="store_true",
        help="leave out the closed-loop rule (not part of the criterion; saves its tuning)",
    )
    parser.add_argument(
        "--skip-open-rule",
        action="store_true",
        help="leave out the open-loop rule (the criterion then rests on sp-open alone)",
    )
    args = parser.parse_args()
    results = []
    print(
        "| point | LP | LP min | rule | open-loop rule | sp-open | sp-open max | floor "
        "| qualifies | s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for text in args.points:
        start = time.perf_counter()
        result = run_point(
            parse_point(text),
            args.cells.split(","),
            args.episodes,
            args.tuning,
            args.skip_rule,
            args.skip_open_rule,
        )
        results.append(result)
        m = result["mean"]
        lp_min = min(r["lp"] for r in result["cells"])
        sp_open_max = max(r["sp_open"] for r in result["cells"])
        print(
            f"| {text} | {m['lp']:.3f} | {lp_min:.3f} | {m['rule']:.3f} | {m['open']:.3f} "
            f"| {m['sp_open']:.3f} | {sp_open_max:.3f} "
            f"| {m['floor']:.3f} "
            f"| {result['qualifies']} | {time.perf_counter() - start:.0f} |",
            flush=True,
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()

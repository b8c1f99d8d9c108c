"""rho (Eq. 33) of the copper-blending baselines over the 16 cells of the orthogonal design.

One instance per cell (repeat 0): LP, the open-loop two-stage variant and the
tuned two-stage rule, each against single-stage CCP, evaluated with common
random numbers (episode k from seed k). Prints a Markdown table.

    PYTHONPATH=src python benchmarks/copper_baselines.py [--episodes 1000] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor

from stagewise.problems.copper_blending.baselines import CostRow, evaluate_baselines
from stagewise.problems.copper_blending.instances import MIXES, SCALES, orthogonal_design

METHODS = ("lp", "open-loop", "rule")


def run_cell(name: str, episodes: int, tuning_episodes: int) -> tuple[str, list[CostRow]]:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return name, evaluate_baselines(name, episodes, seed=0, tuning_episodes=tuning_episodes)


def markdown(results: dict[str, list[CostRow]]) -> str:
    lines = [
        "| scale | mix | C_CCP (cu) | rho LP | rho open-loop | rho rule | tuned rule |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for n, m in SCALES:
        for mix in MIXES:
            rows = {r.name: r for r in results[f"{n}E{m}M-{mix}-0"]}
            rhos = " | ".join(f"{rows[k].rho:.3f}" for k in METHODS)
            lines.append(
                f"| {n}E{m}M | {mix} | {rows['ccp'].total:,.0f} | {rhos} | {rows['rule'].detail} |"
            )
    means = {k: sum(r.rho for c in results.values() for r in c if r.name == k) for k in METHODS}
    mean_row = " | ".join(f"{means[k] / len(results):.3f}" for k in METHODS)
    lines.append(f"| mean | | | {mean_row} | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--tuning-episodes", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--h62", action="store_true", help="also print the H62 cost table")
    args = parser.parse_args()
    start = time.perf_counter()
    names = orthogonal_design()
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_cell, n, args.episodes, args.tuning_episodes) for n in names]
        results = dict(f.result() for f in futures)
    print(
        f"rho = C_method / C_CCP (Eq. 33); {args.episodes} episodes per method, "
        f"rule tuned on {args.tuning_episodes} training draws per grid cell\n"
    )
    print(markdown(results))
    if args.h62:
        _, rows = run_cell("H62", args.episodes, args.tuning_episodes)
        print("\nH62 (default instance), mean cost per batch (cu) and violation (wt%):\n")
        print(cost_table(rows))
    print(f"\n({time.perf_counter() - start:.0f} s)")


def cost_table(rows: list[CostRow]) -> str:
    elements = list(rows[0].violation)
    head = "| policy | total | s.e. | material | processing | fixed | penalty | stages | rho | "
    head += " | ".join(f"viol. {e}" for e in elements) + " |"
    lines = [head, "|" + " --- |" * (9 + len(elements))]
    for r in rows:
        c = r.components
        viol = " | ".join(f"{r.violation[e]:.3f}" for e in elements)
        lines.append(
            f"| {r.name} | {r.total:,.0f} | {r.total_se:,.0f} | {c['material']:,.0f} | "
            f"{c['processing']:,.0f} | {c['fixed']:,.0f} | {c['penalty']:,.0f} | "
            f"{r.stages:.2f} | {r.rho:.3f} | {viol} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()

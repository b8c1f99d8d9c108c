"""When does learning pay? The best agent vs ``mpc`` vs ``clairvoyant`` per stochastic case.

Usage: PYTHONPATH=src python benchmarks/stochastic_learning_pays.py runs/safeor-stochastic[-quick]
Reads ``report.csv`` of the run folder (``stagewise report`` writes it) and prints one
Markdown row per case: the best agent (highest mean evaluation reward), its reward and cost,
``mpc``'s and ``clairvoyant``'s, the gaps to the bound ``100 (R_clairvoyant - R) / |R_clairvoyant|``
and whether the agent beats MPC or comes within 2 % of it (``R_agent >= R_mpc - 0.02 |R_mpc|``)
at equal or lower constraint cost.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

WITHIN = 0.02


def gap(bound: float, reward: float) -> float:
    return 100.0 * (bound - reward) / max(abs(bound), 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_folder", type=Path)
    args = parser.parse_args()
    rows = list(csv.DictReader((args.run_folder / "report.csv").open()))
    cases: dict[str, dict[str, dict[str, str]]] = {}
    for row in rows:
        cases.setdefault(row["case"], {})[row["method"]] = row
    print(
        "| case | best agent (steps) | reward | cost | mpc reward | mpc cost | clairvoyant"
        " | agent gap % | mpc gap % | agent within 2 % of mpc or better, cost <= mpc's |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case, methods in cases.items():
        agents = [r for r in methods.values() if r["kind"] == "agent" and r["reward mean"]]
        if not agents or "mpc" not in methods or "clairvoyant" not in methods:
            continue
        best = max(agents, key=lambda r: float(r["reward mean"]))
        reward, cost = float(best["reward mean"]), float(best["cost mean"])
        m_reward, m_cost = float(methods["mpc"]["reward mean"]), float(methods["mpc"]["cost mean"])
        bound = float(methods["clairvoyant"]["reward mean"])
        pays = reward >= m_reward - WITHIN * abs(m_reward) and cost <= m_cost + 1e-6
        print(
            f"| {case} | {best['method']} ({best['steps']}) | {reward:.6g} | {cost:.4g} "
            f"| {m_reward:.6g} | {m_cost:.4g} | {bound:.6g} | {gap(bound, reward):.1f} "
            f"| {gap(bound, m_reward):.1f} | {'yes' if pays else 'no'} |"
        )


if __name__ == "__main__":
    main()

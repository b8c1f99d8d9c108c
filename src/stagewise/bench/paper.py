"""The SafeOR-Gym paper's numbers (Tables 1-3) and its selection rules (section 4.1).

``data/safeor_paper.yaml`` holds every evaluation result exactly as printed. The rules
pick, among the agents of one case study (evaluation reward and cost):

- **best**: with ``c_min`` the lowest cost, keep the agents whose cost is at most
  ``5 c_min`` or at most ``c_min + 25`` (when ``c_min = 0``: cost below 25); the highest
  reward among them wins;
- **worst**: the agent of the highest cost if that cost is at least ten times the
  second highest and at least 100 above it; otherwise, among the agents whose cost is
  one of the three highest distinct costs, the lowest reward;
- a **significant train/evaluation gap**: the absolute gap exceeds 100 and the relative
  gap (to the training value) exceeds 30 %, or only the absolute test when
  ``|training value| < 0.1``.

Ties are kept: each rule returns every agent that meets it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

PAPER_DATA = Path(__file__).with_name("data") / "safeor_paper.yaml"
LOOSE_COST = 25.0  # the rule's fixed allowance (OmniSafe's usual cost limit)


@functools.cache
def paper_results() -> dict[str, Any]:
    """The parsed paper data: ``agents`` (paper name -> stagewise agent) and ``cases``."""
    return yaml.safe_load(PAPER_DATA.read_text(encoding="utf-8"))


def paper_case(case: str) -> dict[str, Any] | None:
    """The paper's row set of one case study (``None`` if the paper has no such case)."""
    return paper_results()["cases"].get(case)


def best(results: dict[str, tuple[float, float]]) -> list[str]:
    """The best agents of ``name -> (reward, cost)`` by the paper's rule."""
    if not results:
        return []
    c_min = min(cost for _, cost in results.values())
    if c_min == 0:
        kept = {n: rc for n, rc in results.items() if rc[1] < LOOSE_COST}
    else:
        kept = {
            n: rc for n, rc in results.items() if rc[1] <= 5 * c_min or rc[1] <= c_min + LOOSE_COST
        }
    top = max(reward for reward, _ in kept.values())
    return sorted(n for n, (reward, _) in kept.items() if reward == top)


def worst(results: dict[str, tuple[float, float]]) -> list[str]:
    """The worst agents of ``name -> (reward, cost)`` by the paper's rule."""
    if not results:
        return []
    costs = sorted({cost for _, cost in results.values()}, reverse=True)
    if len(costs) >= 2 and costs[0] >= 10 * costs[1] and costs[0] >= costs[1] + 100:
        return sorted(n for n, (_, cost) in results.items() if cost == costs[0])
    kept = {n: rc for n, rc in results.items() if rc[1] in costs[:3]}
    low = min(reward for reward, _ in kept.values())
    return sorted(n for n, (reward, _) in kept.items() if reward == low)


def significant_gap(training: float, evaluation: float) -> bool:
    """Whether a training value and its evaluation differ significantly (the paper's flag)."""
    gap = abs(evaluation - training)
    if gap <= 100:
        return False
    return abs(training) < 0.1 or gap / abs(training) > 0.3

"""The paper's selection rules, applied to the paper's own numbers, pick what the paper picks."""

from __future__ import annotations

import pytest

from stagewise.bench.paper import best, paper_results, significant_gap, worst

CASES = paper_results()["cases"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_rules_on_the_papers_tables_pick_the_papers_best_and_worst(case: str) -> None:
    rows = {name: (r["reward"], r["cost"]) for name, r in CASES[case]["results"].items()}
    assert best(rows) == sorted(CASES[case]["best"])
    assert worst(rows) == sorted(CASES[case]["worst"])


def test_stn_rule_differs_from_the_papers_text() -> None:
    """The text names TRPOLag; the rule picks DDPGLag (cost 84 <= 5 x 71 and <= 71 + 25)."""
    rows = {name: (r["reward"], r["cost"]) for name, r in CASES["stn"]["results"].items()}
    assert best(rows) == ["DDPGLag"] and CASES["stn"]["text_best"] == "TRPOLag"


def test_best_keeps_only_cheap_agents_when_one_has_no_cost() -> None:
    assert best({"a": (10.0, 30.0), "b": (5.0, 0.0), "c": (7.0, 24.9)}) == ["c"]
    assert best({"a": (10.0, 30.0), "b": (5.0, 10.0)}) == ["a"]  # 30 <= 10 + 25


def test_worst_by_dominant_cost_or_three_highest_costs() -> None:
    assert worst({"a": (100.0, 5000.0), "b": (-9.0, 400.0), "c": (0.0, 0.0)}) == ["a"]
    assert worst({"a": (100.0, 500.0), "b": (-9.0, 400.0), "c": (-50.0, 0.0), "d": (1, 1)}) == ["b"]


def test_significant_gap_needs_absolute_and_relative_size() -> None:
    assert significant_gap(-1000.0, -1500.0)  # 500 > 100 and 50 % > 30 %
    assert not significant_gap(-1000.0, -1200.0)  # 20 %
    assert not significant_gap(10.0, 90.0)  # 80 < 100
    assert significant_gap(0.05, 200.0)  # |training| < 0.1: absolute test only


def test_every_paper_case_names_its_agents_and_numbers() -> None:
    agents = paper_results()["agents"]
    assert set(agents.values()) == {"cpo", "trpo-lag", "p3o", "crpo", "ddpg-lag"}
    for case in CASES.values():
        assert set(case["results"]) == set(agents) and set(case["hours"]) == set(agents)

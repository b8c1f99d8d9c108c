"""Reproduction of the copper-blending paper's numerical study (Section 4, Figs. 4-9).

``stagewise reproduce copper-blending`` runs the orthogonal experiment: 4
scales x 4 uncertainty mixes x ``repeats`` generated instances. For each
instance one job (through :func:`stagewise.bench.executor.run_jobs`, so on
local processes or a Ray cluster) trains DAH-DDPG on the closed-loop
environment (DRL-CCP) and, with ``open_loop="agent"``, on the open-loop one
(Eqs. 34-35, the Fig. 9 ablation), then evaluates every method on the same
draws (episode ``k`` from seed ``seed + k``): single-stage CCP and LP, the tuned
two-stage rule, the tuned open-loop rule, the stochastic-programming reference policy
``sp`` (on the first ``sp_episodes`` draws) and the trained agents, beside the
perfect-information bound on those draws (``bound``, the lowest cost any policy
can reach). ``rho`` is Eq. 33, cost over single-stage CCP cost. Outputs under ``out``: ``cells.csv``
(one row per instance), ``summary.csv`` / ``summary.md`` (mean and std over
repeats per cell), and PNGs: ``fig4_training.png`` (losses and rho while
training), ``fig5_cost_components.png``, ``fig6_rho_mean.png``,
``fig6_rho_std.png``, ``fig7_costs.png`` (a low-high case), ``fig8_violation_radar.png``,
``fig9_open_loop.png``.
"""

from __future__ import annotations

import csv
import functools
import json
import resource
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from rich.console import Console

from stagewise.bench.executor import Job, run_jobs

ProgressBar = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]
SCALES = ("5E24M", "10E48M", "15E60M", "20E100M")
MIXES = ("LM", "LH", "MH", "LMH")
# Methods in the order of the tables; "drl" is DRL-CCP, "drl-open" its open-loop ablation,
# "bound" the perfect-information lower bound (bound.py) on the same draws.
# "sp" is the stochastic-programming reference policy (sp.py), on the first sp_episodes draws.
METHODS = ("ccp", "lp", "rule", "open-loop-rule", "sp", "drl", "drl-open", "bound")
TUNING_EPISODES = 50
SP_SCENARIOS, SP_LEAVES, SP_EPISODES = 20, 20, 200
PAPER_MEAN_RHO = {"drl": 0.812, "drl-open": 0.866}


def run_instance(
    instance: str,
    run_dir: str,
    episodes: int,
    seed: int,
    steps: int | None,
    open_loop: str,
    sp_scenarios: int = SP_SCENARIOS,
    sp_leaves: int = SP_LEAVES,
    sp_episodes: int = SP_EPISODES,
) -> dict[str, Any]:
    """Train and evaluate every method on one instance (a benchmark job; picklable).

    ``sp`` (``sp_scenarios`` branches, ``sp_leaves`` final draws; 0 scenarios: left out)
    is evaluated on the first ``min(sp_episodes, episodes)`` episodes and its rho is
    over CCP on those episodes.
    """
    import torch

    from stagewise.agents.dah_ddpg import DAHDDPGConfig, train
    from stagewise.core.policy import evaluate
    from stagewise.problems.copper_blending import baselines
    from stagewise.problems.copper_blending.bound import clairvoyant_costs
    from stagewise.problems.copper_blending.env import CopperBlendingEnv

    torch.set_num_threads(1)
    closed = CopperBlendingEnv({"instance": instance}, action_mode="hybrid")
    opened = CopperBlendingEnv({"instance": instance, "feedback": "open"}, action_mode="hybrid")
    inst = closed.config.instance
    settings = {"seed": seed, "max_stages": inst.T}
    if steps is not None:
        settings["total_steps"] = steps
    cfg = DAHDDPGConfig(**settings)
    policies: dict[str, tuple[Any, Any]] = {
        "ccp": (closed, baselines.ccp(closed)),
        "lp": (closed, baselines.lp(closed)),
        "rule": (closed, baselines.rule(closed, TUNING_EPISODES)),
        "open-loop-rule": (opened, baselines.open_loop(opened, TUNING_EPISODES)),
    }
    seconds: dict[str, float] = {}
    cpu_seconds: dict[str, float] = {}
    trained = [("drl", "closed", closed)]
    if open_loop == "agent":
        trained.append(("drl-open", "open", opened))
    selected_seeds: dict[str, int] = {}
    for name, feedback, env in trained:
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        # a partial, not a lambda: DAH-DDPG trains its restarts in spawned processes
        env_fn = functools.partial(
            CopperBlendingEnv, {"instance": instance, "feedback": feedback}, action_mode="hybrid"
        )
        policy = train(env_fn, cfg, Path(run_dir) / name)
        seconds[name] = time.perf_counter() - start
        # CPU seconds of this process and its restart workers: the training cost whatever
        # else shares the cores
        cpu_seconds[name] = _cpu_seconds() - cpu_start
        selected_seeds[name] = _selected_seed(Path(run_dir) / name, cfg.seed)
        policies[name] = (env, policy)
    per_episode = {}
    scale = closed.config.reward_scale
    for name, (env, policy) in policies.items():
        result = evaluate(policy, env, episodes, seed)
        per_episode[name] = {
            "total": baselines.total_costs(result, scale).tolist(),
            "material": baselines.term_costs(result, "material", scale).tolist(),
            "penalty": baselines.term_costs(result, "penalty", scale).tolist(),
            "stages": float(np.mean([e.length for e in result.episodes])),
            "violation": {
                el: float(np.mean([e.costs[f"spec_{el}"] for e in result.episodes]))
                for el in inst.elements
            },
        }
    # the perfect-information floor on the same draws: no policy's rho can go below it
    per_episode["bound"] = {"total": clairvoyant_costs(closed, episodes, seed).tolist()}
    base = float(np.mean(per_episode["ccp"]["total"]))
    rho = {n: float(np.mean(v["total"])) / base for n, v in per_episode.items()}
    if sp_scenarios > 0:
        per_episode["sp"] = _evaluate_sp(
            instance, min(sp_episodes, episodes), seed, sp_scenarios, sp_leaves
        )
        n_sp = len(per_episode["sp"]["total"])
        rho["sp"] = float(np.mean(per_episode["sp"]["total"])) / float(
            np.mean(per_episode["ccp"]["total"][:n_sp])
        )
    rho = {m: rho[m] for m in METHODS if m in rho}
    return {
        "instance": instance,
        "elements": list(inst.elements),
        "ccp_cost": base,
        "rho": rho,
        "train_seconds": seconds,
        "train_cpu_seconds": cpu_seconds,
        "selected_seed": selected_seeds,
        "rule": policies["rule"][1].name,
        "episodes": per_episode,
        "run_dir": run_dir,
    }


def _evaluate_sp(
    instance: str, episodes: int, seed: int, scenarios: int, leaves: int
) -> dict[str, Any]:
    """Costs of the sp policy on episodes ``seed .. seed + episodes - 1`` (feed control)."""
    from stagewise.core.policy import evaluate
    from stagewise.problems.copper_blending import baselines
    from stagewise.problems.copper_blending.env import CopperBlendingEnv
    from stagewise.problems.copper_blending.sp import sp

    env = CopperBlendingEnv({"instance": instance, "control": "feed"}, action_mode="hybrid")
    policy = sp(env, scenarios, leaves)
    result = evaluate(policy, env, episodes, seed)
    scale = env.config.reward_scale
    elements = env.config.instance.elements
    return {
        "total": baselines.total_costs(result, scale).tolist(),
        "material": baselines.term_costs(result, "material", scale).tolist(),
        "penalty": baselines.term_costs(result, "penalty", scale).tolist(),
        "stages": float(np.mean([e.length for e in result.episodes])),
        "violation": {
            el: float(np.mean([e.costs[f"spec_{el}"] for e in result.episodes])) for el in elements
        },
        "stage_median_s": float(np.median(policy.stage_seconds)),
        "scenarios": scenarios,
        "leaves": leaves,
    }


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its finished child processes."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _selected_seed(run_dir: Path, seed: int) -> int:
    """The agent seed whose policy a (possibly restarted) DAH-DDPG training kept."""
    summary = run_dir / "restarts.json"
    if not summary.exists():
        return seed
    chosen = json.loads(summary.read_text())
    return int(chosen["restarts"][chosen["selected"]]["seed"])


def _parse(instance: str) -> tuple[str, str, int]:
    scale, mix, repeat = instance.split("-")
    return scale, mix, int(repeat)


def _select(names: str | None, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    if names is None:
        return allowed
    chosen = tuple(n.strip() for n in str(names).split(",") if n.strip())
    bad = [n for n in chosen if n not in allowed]
    if bad or not chosen:
        raise ValueError(f"{what} must be a comma list of {', '.join(allowed)}; got {names!r}")
    return chosen


def reproduce(
    out: Path,
    console: Console,
    progress_bar: ProgressBar,
    repeats: int = 10,
    episodes: int = 1000,
    seed: int = 0,
    backend: str = "local",
    workers: int = 2,
    steps: int | None = None,
    open_loop: str = "agent",
    scales: str | None = None,
    mixes: str | None = None,
    sp_scenarios: int = SP_SCENARIOS,
    sp_leaves: int = SP_LEAVES,
    sp_episodes: int = SP_EPISODES,
    **unknown: Any,
) -> list[dict[str, Any]]:
    """Run the orthogonal experiment and write tables and figures under ``out``.

    Options: ``repeats`` instances per cell, ``episodes`` evaluation episodes,
    ``seed`` (training and evaluation), ``backend``/``workers`` of the executor,
    ``steps`` (DAH-DDPG training steps; agent default if unset), ``open_loop``
    (``agent``: train DAH-DDPG with the open-loop lower level for Fig. 9;
    ``rule``: only the tuned open-loop rule), ``scales``/``mixes`` (comma lists
    restricting the grid, e.g. ``5E24M,20E100M``), ``sp_scenarios``/``sp_leaves``/
    ``sp_episodes`` (the sp reference policy; ``sp_scenarios=0`` leaves it out).
    """
    if unknown:
        raise ValueError(
            f"unknown reproduce option(s) {sorted(unknown)}; use repeats, episodes, seed, "
            "backend, workers, steps, open_loop, scales, mixes, sp_scenarios, sp_leaves, "
            "sp_episodes"
        )
    repeats, episodes, workers = int(repeats), int(episodes), int(workers)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if episodes < 2:
        raise ValueError(f"episodes must be >= 2 (a standard error needs two), got {episodes}")
    if open_loop not in {"agent", "rule"}:
        raise ValueError(f"open_loop must be 'agent' or 'rule', got {open_loop!r}")
    chosen_scales = _select(scales, SCALES, "scales")
    chosen_mixes = _select(mixes, MIXES, "mixes")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = [f"{s}-{m}-{k}" for s in chosen_scales for m in chosen_mixes for k in range(repeats)]
    jobs = [
        Job(
            run_instance,
            {
                "instance": name,
                "run_dir": str(out / "runs" / name),
                "episodes": episodes,
                "seed": int(seed),
                "steps": None if steps is None else int(steps),
                "open_loop": open_loop,
                "sp_scenarios": int(sp_scenarios),
                "sp_leaves": int(sp_leaves),
                "sp_episodes": int(sp_episodes),
            },
            label=name,
        )
        for name in names
    ]
    with progress_bar("copper-blending instances", len(jobs)) as advance:
        results = run_jobs(
            jobs, backend=backend, workers=workers, on_done=lambda _j, _r: advance(1)
        )
    write_outputs(out, results, console)
    return results


# ------------------------------------------------------------------ outputs
def write_outputs(out: Path, results: list[dict[str, Any]], console: Console) -> None:
    """Tables (CSV, Markdown) and the figures of Section 4 from the job results."""
    methods = [m for m in METHODS if all(m in r["rho"] for r in results)]
    cell_rows = []
    for r in results:
        scale, mix, repeat = _parse(r["instance"])
        row = {"scale": scale, "mix": mix, "repeat": repeat, "C_ccp": round(r["ccp_cost"], 1)}
        row |= {f"rho_{m}": round(r["rho"][m], 4) for m in methods}
        row |= {f"train_s_{k}": round(v, 1) for k, v in r["train_seconds"].items()}
        row |= {f"train_cpu_s_{k}": round(v, 1) for k, v in r.get("train_cpu_seconds", {}).items()}
        row |= {f"seed_{k}": v for k, v in r.get("selected_seed", {}).items()}
        row |= {"stages_drl": r["episodes"]["drl"]["stages"], "rule": r["rule"]}
        if "sp" in r["rho"]:
            # DRL-CCP's share of the saving over CCP that sp captures
            saving = 1.0 - r["rho"]["sp"]
            share = (1.0 - r["rho"]["drl"]) / saving if saving > 0 else float("nan")
            row |= {"stages_sp": r["episodes"]["sp"]["stages"], "drl_share_of_sp": round(share, 3)}
            row |= {"sp_stage_median_s": round(r["episodes"]["sp"]["stage_median_s"], 4)}
        cell_rows.append(row)
    _write_csv(out / "cells.csv", cell_rows)
    summary = summarize(results, methods)
    _write_csv(out / "summary.csv", summary)
    table = _markdown(summary)
    (out / "summary.md").write_text(table)
    (out / "results.json").write_text(json.dumps(results))
    console.print(table)
    grid = {m: _heatmap_values(results, m) for m in methods}
    _heatmap(grid["drl"][0], "DRL-CCP: mean rho (Fig. 6a)", out / "fig6_rho_mean.png")
    _heatmap(grid["drl"][1], "DRL-CCP: std of rho (Fig. 6b)", out / "fig6_rho_std.png")
    open_name = "drl-open" if "drl-open" in grid else "open-loop-rule"
    _heatmap(
        grid[open_name][0],
        f"open loop ({open_name}): mean rho (Fig. 9)",
        out / "fig9_open_loop.png",
    )
    case = _low_high_case(results)
    _cost_boxplots(case, out / "fig7_costs.png")
    _violation_radar(case, out / "fig8_violation_radar.png")
    _training_curves(results, out / "fig4_training.png", out / "fig5_cost_components.png")
    console.print(f"wrote {out / 'summary.md'}, {out / 'cells.csv'} and figures in {out}")


def summarize(results: list[dict[str, Any]], methods: list[str]) -> list[dict[str, Any]]:
    """Mean and std of rho per (scale, mix) over repeats, plus the overall mean row."""
    rows = []
    for scale in SCALES:
        for mix in MIXES:
            cell = [r for r in results if _parse(r["instance"])[:2] == (scale, mix)]
            if not cell:
                continue
            row: dict[str, Any] = {"scale": scale, "mix": mix, "repeats": len(cell)}
            for m in methods:
                values = np.array([r["rho"][m] for r in cell])
                row[f"{m} mean"] = round(float(values.mean()), 4)
                row[f"{m} std"] = round(float(values.std(ddof=1)), 4) if len(cell) > 1 else ""
            rows.append(row)
    overall: dict[str, Any] = {"scale": "mean", "mix": "", "repeats": len(results)}
    for m in methods:
        overall[f"{m} mean"] = round(float(np.mean([r["rho"][m] for r in results])), 4)
        overall[f"{m} std"] = ""
    rows.append(overall)
    return rows


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def _markdown(rows: list[dict[str, Any]]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _heatmap_values(results: list[dict[str, Any]], method: str) -> tuple[np.ndarray, np.ndarray]:
    mean = np.full((len(SCALES), len(MIXES)), np.nan)
    std = np.full_like(mean, np.nan)
    for i, scale in enumerate(SCALES):
        for j, mix in enumerate(MIXES):
            values = [
                r["rho"][method] for r in results if _parse(r["instance"])[:2] == (scale, mix)
            ]
            if values:
                mean[i, j] = np.mean(values)
                std[i, j] = np.std(values, ddof=1) if len(values) > 1 else np.nan
    return mean, std


def _heatmap(values: np.ndarray, title: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    image = ax.imshow(values, cmap="viridis_r")
    ax.set_xticks(range(len(MIXES)), MIXES)
    ax.set_yticks(range(len(SCALES)), SCALES)
    ax.set_xlabel("uncertainty mix")
    ax.set_ylabel("scale")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, "n/a" if np.isnan(v) else f"{v:.3f}", ha="center", va="center", color="w")
    ax.set_title(title)
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _low_high_case(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The representative case of Figs. 7-8: the first low-high instance (any if none)."""
    low_high = [r for r in results if _parse(r["instance"])[1] == "LH"]
    return (low_high or results)[0]


def _cost_boxplots(case: dict[str, Any], path: Path) -> None:
    methods = [m for m in ("lp", "ccp", "drl") if m in case["episodes"]]
    labels = {"lp": "LP", "ccp": "CCP", "drl": "DRL-CCP"}
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, part in zip(axes, ("material", "penalty", "total"), strict=True):
        ax.boxplot([case["episodes"][m][part] for m in methods], showfliers=False)
        ax.set_xticks(range(1, len(methods) + 1), [labels[m] for m in methods])
        ax.set_title(f"{part} cost (cu)")
    fig.suptitle(f"Fig. 7: cost components, {case['instance']}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _violation_radar(case: dict[str, Any], path: Path) -> None:
    elements = case["elements"]
    angles = np.linspace(0, 2 * np.pi, len(elements), endpoint=False)
    fig, ax = plt.subplots(figsize=(6, 6), subplot_kw={"projection": "polar"})
    for method, label in (("lp", "LP"), ("ccp", "CCP"), ("drl", "DRL-CCP")):
        values = [case["episodes"][method]["violation"][el] for el in elements]
        ax.plot(np.append(angles, angles[0]), np.append(values, values[0]), label=label)
    ax.set_xticks(angles, elements)
    ax.set_title(f"Fig. 8: mean violation per element (wt%), {case['instance']}")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _progress(run_dir: str) -> list[dict[str, float]]:
    path = Path(run_dir) / "drl" / "progress.csv"
    if not path.exists():
        return []
    with path.open() as f:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def _training_curves(results: list[dict[str, Any]], losses_path: Path, terms_path: Path) -> None:
    """Fig. 4 (losses and rho of greedy evaluations) and Fig. 5 (cost components)."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    panels = (
        ("critic_loss", "critic loss L_c"),
        ("f_actor_loss", "F-Actor loss L_f"),
        ("s_actor_loss", "S-Actor loss L_s"),
        ("rho", "rho (greedy evaluation)"),
    )
    for r in results:
        rows = _progress(r["run_dir"])
        for ax, (key, title) in zip(axes.flat, panels, strict=True):
            if key == "rho":
                points = [
                    (p["step"], -p["eval_return"] / (r["ccp_cost"] * _reward_scale())) for p in rows
                ]
            else:
                points = [(p["step"], p[key]) for p in rows if key in p]
            if points:
                ax.plot(*zip(*points, strict=True), lw=0.8, alpha=0.7, marker=".")
            ax.set_title(title)
            ax.set_xlabel("environment steps")
    fig.suptitle("Fig. 4: DAH-DDPG training, one line per instance")
    fig.tight_layout()
    fig.savefig(losses_path, dpi=120)
    plt.close(fig)
    case = _low_high_case(results)
    rows = _progress(case["run_dir"])
    fig, ax = plt.subplots(figsize=(7, 4))
    for term in ("material", "processing", "fixed", "penalty"):
        key = f"eval_term_{term}"
        points = [(p["step"], p[key]) for p in rows if key in p]
        if points:
            ax.plot(*zip(*points, strict=True), label=term)
    ax.set_yscale("symlog")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("mean cost per batch (cu)")
    ax.set_title(f"Fig. 5: cost components during training, {case['instance']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(terms_path, dpi=120)
    plt.close(fig)


def _reward_scale() -> float:
    """The environment's reward scale (returns are ``-scale x cost``)."""
    from stagewise.problems.copper_blending.config import CopperBlendingConfig

    return CopperBlendingConfig.model_fields["reward_scale"].default

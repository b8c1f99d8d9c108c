"""Experiment grids: problems x agents x seeds (plus named baseline policies), from YAML.

Example ``grid.yaml``::

    experiment: capacity-small
    problems:
      - name: capacity-expansion
        config: {K: 2, T: 3}
    agents:
      - name: dqn
        steps: 20000
        hp: {lr: 0.001}
    seeds: [0, 1, 2]
    baselines: [optimal, never-expand]
    evaluation: {episodes: 2000, seed: 10000}

Every agent run writes ``runs/<experiment>/<problem>/<agent>/seed<k>/`` (run.json,
progress.csv, checkpoint, policy, evaluation.json); a baseline writes
``runs/<experiment>/<problem>/<policy>/evaluation.json``. ``evaluation.json`` is
written last and atomically: a run that has it is complete and is skipped when
the grid is run again; an interrupted run resumes from its checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stagewise.bench.executor import Backend, Job, run_jobs
from stagewise.core.config import ConfigError, read_config_file
from stagewise.core.policy import evaluate
from stagewise.core.registry import get_problem, load_object

EVALUATION = "evaluation.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProblemEntry(_Strict):
    name: str = Field(description="problem slug (see `stagewise list`)")
    config: dict[str, Any] | str | None = Field(None, description="config overrides or a file")


class AgentEntry(_Strict):
    name: str = Field(description="agent name")
    steps: int | None = Field(None, ge=1, description="training steps (agent default if unset)")
    hp: dict[str, Any] = Field(default_factory=dict, description="hyper-parameter overrides")


class EvaluationSpec(_Strict):
    episodes: int = Field(1000, ge=1)
    seed: int = Field(10_000, ge=0)


class Grid(_Strict):
    """A benchmark grid (see the module docstring)."""

    experiment: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    problems: list[ProblemEntry] = Field(min_length=1)
    agents: list[AgentEntry] = Field(default_factory=list)
    seeds: list[int] = Field(default_factory=lambda: [0])
    baselines: list[str] = Field(default_factory=list)
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec)


def load_grid(path: str | Path) -> Grid:
    """Parse and validate a grid file; unknown problems, agents or policies are errors."""
    data = read_config_file(path)
    try:
        grid = Grid.model_validate(data)
    except ValidationError as err:
        lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()]
        raise ConfigError(lines, str(path)) from None
    _check_names(grid, str(path))
    return grid


def _check_names(grid: Grid, origin: str) -> None:
    from stagewise.agents import AGENTS

    problems = []
    for entry in grid.problems:
        try:
            problems.append(get_problem(entry.name))
        except KeyError as err:
            raise ConfigError([str(err.args[0])], origin) from None
    unknown_agents = [a.name for a in grid.agents if a.name not in AGENTS]
    if unknown_agents:
        raise ConfigError([f"unknown agent(s) {unknown_agents}; have {sorted(AGENTS)}"], origin)
    for spec in problems:
        missing = [b for b in grid.baselines if b != "random" and b not in spec.policies]
        if missing:
            raise ConfigError([f"{spec.slug} has no policy {missing}"], origin)


def grid_jobs(grid: Grid, root: Path) -> list[Job]:
    """One job per incomplete (problem, agent, seed) run and per (problem, baseline)."""
    jobs = []
    for problem in grid.problems:
        slug = get_problem(problem.name).slug
        for baseline in grid.baselines:
            run_dir = root / grid.experiment / slug / baseline
            if not (run_dir / EVALUATION).exists():
                kwargs = {
                    "problem": slug,
                    "config": problem.config,
                    "policy": baseline,
                    "run_dir": str(run_dir),
                    "evaluation": grid.evaluation.model_dump(),
                }
                jobs.append(Job(evaluate_baseline, kwargs, f"{slug}/{baseline}"))
        for agent in grid.agents:
            for seed in grid.seeds:
                run_dir = root / grid.experiment / slug / agent.name / f"seed{seed}"
                if (run_dir / EVALUATION).exists():
                    continue
                kwargs = {
                    "problem": slug,
                    "config": problem.config,
                    "agent": agent.name,
                    "steps": agent.steps,
                    "hp": agent.hp,
                    "seed": seed,
                    "run_dir": str(run_dir),
                    "evaluation": grid.evaluation.model_dump(),
                }
                jobs.append(Job(train_and_evaluate, kwargs, f"{slug}/{agent.name}/seed{seed}"))
    return jobs


def run_grid(
    grid: Grid,
    root: Path,
    backend: Backend = "local",
    workers: int = 1,
    on_done: Any = None,
) -> list[dict[str, Any]]:
    """Run every incomplete job of ``grid`` under ``root``; return their evaluation records."""
    return run_jobs(grid_jobs(grid, root), backend=backend, workers=workers, on_done=on_done)


def _problem_config(problem: str, config: dict[str, Any] | str | None) -> Any:
    from stagewise.core.config import load_config

    return load_config(get_problem(problem).env_class().config_model, config)


def _write_atomic(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    os.replace(tmp, path)


def evaluate_baseline(
    problem: str,
    config: dict[str, Any] | str | None,
    policy: str,
    run_dir: str,
    evaluation: dict[str, int],
) -> dict[str, Any]:
    """Evaluate a named policy of ``problem``; write and return its evaluation record."""
    from stagewise.core.policy import RandomPolicy

    spec = get_problem(problem)
    cfg = _problem_config(problem, config)
    env = gym.make(spec.env_id, config=cfg)
    start = time.perf_counter()
    pol = RandomPolicy(0) if policy == "random" else load_object(spec.policies[policy])(env)
    seconds = time.perf_counter() - start
    result = evaluate(pol, env, evaluation["episodes"], evaluation["seed"])
    record = {
        "problem": problem,
        "method": policy,
        "kind": "baseline",
        "seed": None,
        "config": cfg.model_dump(),
        "seconds": seconds,
        **result.summary(),
    }
    path = Path(run_dir)
    path.mkdir(parents=True, exist_ok=True)
    _write_atomic(path / EVALUATION, record)
    return record


def train_and_evaluate(
    problem: str,
    config: dict[str, Any] | str | None,
    agent: str,
    steps: int | None,
    hp: dict[str, Any],
    seed: int,
    run_dir: str,
    evaluation: dict[str, int],
) -> dict[str, Any]:
    """Train ``agent`` on ``problem`` (resuming if a checkpoint exists), then evaluate it."""
    import torch

    from stagewise.agents import get_agent

    torch.set_num_threads(1)
    spec = get_problem(problem)
    agent_spec = get_agent(agent)
    cfg = _problem_config(problem, config)
    values = {"seed": seed, **hp}
    if steps is not None:
        values["total_steps"] = steps
    settings = agent_spec.config(**values)
    path = Path(run_dir)
    path.mkdir(parents=True, exist_ok=True)
    meta = {
        "problem": spec.slug,
        "agent": agent,
        "action_mode": agent_spec.action_mode,
        "config": cfg.model_dump(),
        "agent_config": dataclasses.asdict(settings),
    }
    (path / "run.json").write_text(json.dumps(meta, indent=2, default=str))

    def env_fn() -> gym.Env:
        return gym.make(spec.env_id, config=cfg, action_mode=agent_spec.action_mode)

    start = time.perf_counter()
    policy = agent_spec.train(env_fn, settings, path)
    seconds = time.perf_counter() - start
    result = evaluate(policy, env_fn(), evaluation["episodes"], evaluation["seed"])
    record = {
        "problem": problem,
        "method": agent,
        "kind": "agent",
        "seed": seed,
        "config": cfg.model_dump(),
        "seconds": seconds,
        **result.summary(),
    }
    _write_atomic(path / EVALUATION, record)
    return record

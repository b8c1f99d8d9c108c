"""Experiment grids: problems x agents x seeds (plus named baseline policies), from YAML.

Example ``grid.yaml``::

    experiment: capacity-small
    problems:
      - name: capacity-expansion
        config: {K: 2, T: 3}
    agents:
      - name: dqn
        steps: 20000
        hp: {learning_rate: 0.001}
    seeds: [0, 1, 2]
    baselines: [optimal, never-expand]
    evaluation: {episodes: 2000, seed: 10000}

Every agent run writes ``runs/<experiment>/<problem>/<agent>/seed<k>/`` (run.json,
progress.csv, checkpoint, policy, evaluation.json); a baseline writes
``runs/<experiment>/<problem>/<policy>/`` (run.json, evaluation.json). ``run.json``
holds the run's fingerprint (:mod:`stagewise.bench.runs`); ``evaluation.json`` is
written last and atomically. A run with the grid's fingerprint and an evaluation
with the grid's evaluation settings is skipped when the grid is run again; an
interrupted one resumes from its checkpoint; a folder holding another fingerprint
(the grid was edited under the same experiment name) is refused before any job
starts, naming the changed fields. Agent settings (``hp``) are the fields of the
agent's config dataclass (``stagewise train --help``, ``docs/``), checked before
any job starts.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stagewise.bench.executor import Backend, Job, run_jobs
from stagewise.bench.runs import RunFolder, RunRecord, check_run_folder
from stagewise.core.config import ConfigError, read_config_file
from stagewise.core.files import RunFileError, read_json, write_json_atomic
from stagewise.core.policy import evaluate
from stagewise.core.registry import get_problem, load_object

EVALUATION = "evaluation.json"
EDITED_GRID_HINT = "restore the grid, or give the edited grid another experiment name"


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
    """One job per (problem, agent, seed) run and per (problem, baseline) not yet evaluated.

    Every run's fingerprint is built (and every agent's settings checked) before any job
    starts. A run whose folder holds the same fingerprint and an evaluation with the
    grid's evaluation settings is skipped; an interrupted one resumes.

    Raises:
        ConfigError: naming each run folder that holds another fingerprint (or a broken
            run record), and each invalid agent setting, before anything runs.
    """
    jobs: list[tuple[Path, RunRecord, Job]] = []
    for problem in grid.problems:
        slug = get_problem(problem.name).slug
        cfg = _problem_config(slug, problem.config)
        for baseline in grid.baselines:
            record = baseline_record(slug, cfg.model_dump(), baseline)
            run_dir = root / grid.experiment / slug / baseline
            kwargs = {
                "problem": slug,
                "config": problem.config,
                "policy": baseline,
                "run_dir": str(run_dir),
                "evaluation": grid.evaluation.model_dump(),
            }
            jobs.append((run_dir, record, Job(evaluate_baseline, kwargs, f"{slug}/{baseline}")))
        for agent in grid.agents:
            for seed in grid.seeds:
                settings = _agent_settings(agent, seed)
                record = agent_record(slug, cfg.model_dump(), agent.name, seed, settings)
                run_dir = root / grid.experiment / slug / agent.name / f"seed{seed}"
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
                label = f"{slug}/{agent.name}/seed{seed}"
                jobs.append((run_dir, record, Job(train_and_evaluate, kwargs, label)))
    return _pending(jobs, grid.evaluation, root / grid.experiment)


def _pending(
    jobs: list[tuple[Path, RunRecord, Job]], evaluation: EvaluationSpec, experiment: Path
) -> list[Job]:
    pending, problems = [], []
    for run_dir, record, job in jobs:
        try:
            exists = run_dir.exists() and check_run_folder(run_dir, record, EDITED_GRID_HINT)
        except RunFileError as err:
            problems.append(str(err))
            continue
        if not (exists and _evaluated(run_dir, evaluation)):
            pending.append(job)
    if problems:
        raise ConfigError(problems, str(experiment))
    return pending


def _evaluated(run_dir: Path, evaluation: EvaluationSpec) -> bool:
    """Whether ``run_dir`` holds an evaluation made with ``evaluation``'s settings."""
    path = run_dir / EVALUATION
    if not path.exists():
        return False
    try:
        stored = read_json(path, "evaluation record")
    except RunFileError:
        return False
    return isinstance(stored, dict) and stored.get("evaluation") == evaluation.model_dump()


def _agent_settings(agent: AgentEntry, seed: int) -> Any:
    from stagewise.agents import get_agent

    values = {"seed": seed, **agent.hp}
    if agent.steps is not None:
        values["total_steps"] = agent.steps
    try:
        return get_agent(agent.name).settings(values)
    except ValueError as err:
        raise ConfigError([f"agents.{agent.name}.hp: {err}"], "the grid") from None


def agent_record(
    problem: str, config: dict[str, Any], agent: str, seed: int, settings: Any
) -> RunRecord:
    """The fingerprint of an agent run."""
    from stagewise.agents import get_agent

    return RunRecord(
        problem=problem,
        method=agent,
        kind="agent",
        seed=seed,
        config=config,
        method_config=dataclasses.asdict(settings),
        action_mode=get_agent(agent).action_mode,
    )


def baseline_record(problem: str, config: dict[str, Any], policy: str) -> RunRecord:
    """The fingerprint of a named policy (its evaluation settings live in its record)."""
    return RunRecord(
        problem=problem, method=policy, kind="baseline", seed=None, config=config, method_config={}
    )


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
    record = baseline_record(problem, cfg.model_dump(), policy)
    with RunFolder(run_dir, record, purpose="baseline evaluation"):
        env = gym.make(spec.env_id, config=cfg)
        start = time.perf_counter()
        pol = RandomPolicy(0) if policy == "random" else load_object(spec.policies[policy])(env)
        seconds = time.perf_counter() - start
        result = evaluate(pol, env, evaluation["episodes"], evaluation["seed"])
        summary = {
            "problem": problem,
            "method": policy,
            "kind": "baseline",
            "seed": None,
            "config": cfg.model_dump(),
            "evaluation": evaluation,
            "seconds": seconds,
            **result.summary(),
        }
        write_json_atomic(Path(run_dir) / EVALUATION, summary)
    return summary


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
    """Train ``agent`` on ``problem`` (resuming a run with the same fingerprint), then
    evaluate it; the run folder is locked throughout."""
    import torch

    from stagewise.agents import get_agent

    torch.set_num_threads(1)
    spec = get_problem(problem)
    agent_spec = get_agent(agent)
    cfg = _problem_config(problem, config)
    settings = _agent_settings(AgentEntry(name=agent, steps=steps, hp=hp), seed)
    record = agent_record(problem, cfg.model_dump(), agent, seed, settings)
    env_fn = functools.partial(
        gym.make, spec.env_id, config=cfg, action_mode=agent_spec.action_mode
    )
    with RunFolder(run_dir, record):
        start = time.perf_counter()
        policy = agent_spec.train(env_fn, settings, Path(run_dir))
        seconds = time.perf_counter() - start
        result = evaluate(policy, env_fn(), evaluation["episodes"], evaluation["seed"])
        summary = {
            "problem": problem,
            "method": agent,
            "kind": "agent",
            "seed": seed,
            "config": cfg.model_dump(),
            "evaluation": evaluation,
            "seconds": seconds,
            **result.summary(),
        }
        write_json_atomic(Path(run_dir) / EVALUATION, summary)
    return summary

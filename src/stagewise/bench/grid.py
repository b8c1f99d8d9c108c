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

import functools
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stagewise.bench.executor import Backend, Job, JobFailure, OnDone, run_jobs
from stagewise.bench.jobs import (
    EVALUATION,
    FAILED,
    agent_record,
    evaluate_baseline,
    method_record,
    problem_config,
    record_unsupported,
    train_and_evaluate,
)
from stagewise.bench.ray_backend import RayOptions
from stagewise.bench.runs import RunRecord, check_run_folder
from stagewise.core.config import ConfigError, read_config_file
from stagewise.core.files import RunFileError, read_json, write_json_atomic
from stagewise.core.registry import get_problem
from stagewise.core.safety_env import SAFETY_SUFFIX

EDITED_GRID_HINT = "restore the grid, or give the edited grid another experiment name"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProblemEntry(_Strict):
    name: str = Field(description="problem slug (see `stagewise list`)")
    config: dict[str, Any] | str | None = Field(None, description="config overrides or a file")
    label: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="case name in run folders and the report (default: the problem slug)",
    )
    steps: int | None = Field(
        None,
        ge=1,
        description="training steps of every agent on this problem (over agents[].steps)",
    )
    hp: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="agent name -> settings for this problem, over the agent entry's hp",
    )
    baselines: list[str] = Field(
        default_factory=list, description="named policies of this problem, beside the grid's"
    )

    @property
    def case(self) -> str:
        return self.label or get_problem(self.name).slug


class AgentEntry(_Strict):
    name: str = Field(description="agent name")
    steps: int | None = Field(None, ge=1, description="training steps (agent default if unset)")
    hp: dict[str, Any] = Field(default_factory=dict, description="hyper-parameter overrides")
    safety_layer: bool = Field(
        False, description="step through the problem's safety layer (label <name>+safety)"
    )
    projection_weight: float = Field(
        0.0, ge=0, description="with safety_layer: weight of the projection distance in reward"
    )

    @property
    def label(self) -> str:
        """The method's name in run folders and the report."""
        return self.name + SAFETY_SUFFIX if self.safety_layer else self.name

    @property
    def layer_options(self) -> dict[str, Any] | None:
        """The safety layer's options (part of the run fingerprint), or ``None``."""
        return {"projection_weight": self.projection_weight} if self.safety_layer else None


class EvaluationSpec(_Strict):
    episodes: int = Field(1000, ge=1)
    seed: int = Field(10_000, ge=0)


class Profile(_Strict):
    """A named lighter (or heavier) setting of a grid: its runs live in
    ``<experiment>-<profile>`` so they never mix with the full grid's."""

    seeds: list[int] | None = None
    evaluation: EvaluationSpec | None = None
    max_steps: int | None = Field(None, ge=1, description="cap on every run's training steps")
    problems: list[str] | None = Field(None, description="only these cases (labels or slugs)")


class Grid(_Strict):
    """A benchmark grid (see the module docstring)."""

    experiment: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    problems: list[ProblemEntry] = Field(min_length=1)
    agents: list[AgentEntry] = Field(default_factory=list)
    seeds: list[int] = Field(default_factory=lambda: [0])
    baselines: list[str] = Field(default_factory=list)
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec)
    profiles: dict[str, Profile] = Field(default_factory=dict)
    max_steps: int | None = Field(None, ge=1, description="cap on every run's training steps")

    def with_profile(self, name: str) -> Grid:
        """This grid under profile ``name`` (a :class:`ConfigError` naming the known ones)."""
        if name not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ConfigError([f"no profile {name!r}; this grid has {known}"])
        profile = self.profiles[name]
        problems = self.problems
        if profile.problems is not None:
            problems = [
                p for p in problems if p.case in profile.problems or p.name in profile.problems
            ]
        return self.model_copy(
            update={
                "experiment": f"{self.experiment}-{name}",
                "problems": problems,
                "seeds": profile.seeds if profile.seeds is not None else self.seeds,
                "evaluation": profile.evaluation or self.evaluation,
                "max_steps": profile.max_steps or self.max_steps,
                "profiles": {},
            }
        )


def load_grid(path: str | Path, profile: str | None = None) -> Grid:
    """Parse and validate a grid file (under ``profile``, if given); unknown problems,
    agents, policies or profiles are errors."""
    data = read_config_file(path)
    try:
        grid = Grid.model_validate(data)
    except ValidationError as err:
        lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()]
        raise ConfigError(lines, str(path)) from None
    _check_names(grid, str(path))
    if profile is not None:
        try:
            grid = grid.with_profile(profile)
        except ConfigError as err:
            raise ConfigError(err.problems, str(path)) from None
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
    unknown_agents += [name for p in grid.problems for name in p.hp if name not in AGENTS]
    if unknown_agents:
        raise ConfigError([f"unknown agent(s) {unknown_agents}; have {sorted(AGENTS)}"], origin)
    labels = [a.label for a in grid.agents]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise ConfigError(
            [f"agents {twice} appear twice: one entry per agent, with and without safety_layer"],
            origin,
        )
    cases = [p.case for p in grid.problems]
    repeated = sorted({c for c in cases if cases.count(c) > 1})
    if repeated:
        raise ConfigError(
            [f"problems {repeated} appear twice: give each entry its own label"], origin
        )
    for entry, spec in zip(grid.problems, problems, strict=True):
        wanted = [*grid.baselines, *entry.baselines]
        missing = [b for b in wanted if b != "random" and b not in spec.policies]
        if missing:
            raise ConfigError([f"{spec.slug} has no policy {missing}"], origin)


def grid_jobs(grid: Grid, root: Path) -> list[Job]:
    """One job per (problem, agent, seed) run and per (problem, baseline) not yet evaluated.

    Every run's fingerprint is built (and every agent's settings checked) before any job
    starts. A run whose folder holds the same fingerprint and an evaluation with the
    grid's evaluation settings is skipped; an interrupted one resumes. An agent whose
    action mode the problem does not offer gets a record saying so, not a silent gap.

    Raises:
        ConfigError: naming each run folder that holds another fingerprint (or a broken
            run record), and each invalid agent setting, before anything runs.
    """
    jobs: list[tuple[Path, RunRecord, Job]] = []
    evaluation = grid.evaluation.model_dump()
    for problem in grid.problems:
        spec = get_problem(problem.name)
        cfg = problem_config(spec.slug, problem.config)
        case, config = problem.case, cfg.model_dump()
        common = {"problem": spec.slug, "case": case, "config": problem.config}
        for baseline in dict.fromkeys([*grid.baselines, *problem.baselines]):
            run_dir = root / grid.experiment / case / baseline
            kwargs = {**common, "policy": baseline, "run_dir": str(run_dir)}
            record = method_record(spec.slug, config, baseline, "baseline")
            job = Job(evaluate_baseline, kwargs | {"evaluation": evaluation}, f"{case}/{baseline}")
            jobs.append((run_dir, record, job))
        modes = spec.env_class().build_dynamics(cfg).codec.modes
        for agent in grid.agents:
            jobs += _agent_jobs(grid, root, problem, agent, modes, common, config)
    return _pending(jobs, grid.evaluation, root / grid.experiment)


def _agent_jobs(
    grid: Grid,
    root: Path,
    problem: ProblemEntry,
    agent: AgentEntry,
    modes: tuple[str, ...],
    common: dict[str, Any],
    config: dict[str, Any],
) -> list[tuple[Path, RunRecord, Job]]:
    from stagewise.agents import get_agent
    from stagewise.core.safety import problems_with_rows

    evaluation = grid.evaluation.model_dump()
    mode = get_agent(agent.name).action_mode
    reason = None
    if mode not in modes:
        reason = f"{agent.name} needs {mode} actions; {common['problem']} offers {', '.join(modes)}"
    elif agent.safety_layer and common["problem"] not in problems_with_rows():
        reason = f"{common['problem']} has no safety-layer rows yet"
    if reason is not None:
        run_dir = root / grid.experiment / problem.case / agent.label
        kwargs = {**common, "agent": agent.label, "reason": reason, "run_dir": str(run_dir)}
        record = method_record(common["problem"], config, agent.label, "unsupported")
        job = Job(record_unsupported, kwargs | {"evaluation": evaluation}, str(run_dir.name))
        return [(run_dir, record, job)]
    jobs = []
    for seed in grid.seeds:
        values = _agent_values(problem, agent, seed, grid.max_steps, config)
        settings = _within_budget(agent.name, values)
        layer = agent.layer_options
        record = agent_record(common["problem"], config, agent.name, seed, settings, layer)
        run_dir = root / grid.experiment / problem.case / agent.label / f"seed{seed}"
        kwargs = {**common, "agent": agent.name, "settings": values, "seed": seed}
        kwargs |= {"run_dir": str(run_dir), "evaluation": evaluation}
        if layer is not None:
            kwargs["safety_layer"] = layer
        label = f"{problem.case}/{agent.label}/seed{seed}"
        jobs.append((run_dir, record, Job(train_and_evaluate, kwargs, label)))
    return jobs


def _within_budget(agent: str, values: dict[str, Any]) -> Any:
    """The agent's settings, ``total_steps`` lowered to whole epochs where an agent would
    round the budget up: in a grid the budget is a cap (the study compares agents at no more
    environment steps than the paper's), never exceeded."""
    settings = _agent_settings(agent, values)
    if hasattr(settings, "planned_steps") and settings.planned_steps() > settings.total_steps:
        epoch = settings.steps_per_epoch
        values["total_steps"] = max(epoch, settings.total_steps // epoch * epoch)
        settings = _agent_settings(agent, values)
    return settings


def _agent_values(
    problem: ProblemEntry,
    agent: AgentEntry,
    seed: int,
    max_steps: int | None = None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The agent's settings for one run: its per-problem defaults (``agents/defaults.yaml``,
    for the problem's ``config``), its entry's hp and steps, the problem's steps and hp for
    it (in that order of precedence, last wins), the seed, the grid's step cap."""
    from stagewise.agents.defaults import problem_defaults

    slug = get_problem(problem.name).slug
    values = {**problem_defaults(agent.name, slug, config), **agent.hp}
    for steps in (agent.steps, problem.steps):
        if steps is not None:
            values["total_steps"] = steps
    values |= problem.hp.get(agent.name, {})
    values["seed"] = seed
    if max_steps is not None:
        values["total_steps"] = min(values.get("total_steps", max_steps), max_steps)
    return values


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


def _agent_settings(agent: str, values: dict[str, Any]) -> Any:
    from stagewise.agents import get_agent

    try:
        return get_agent(agent).settings(values)
    except ValueError as err:
        raise ConfigError([f"agents.{agent}.hp: {err}"], "the grid") from None


def run_grid(
    grid: Grid,
    root: Path,
    backend: Backend = "local",
    workers: int = 1,
    on_done: OnDone | None = None,
    ray: RayOptions | None = None,
) -> list[dict[str, Any] | JobFailure]:
    """Run every incomplete job of ``grid`` under ``root``; return their records.

    A job that raises or whose process dies does not stop the grid: its run folder gets
    ``failed.json`` (the error, written here, by the driver) and its result is a
    :class:`JobFailure`; a later run of the grid retries it.
    """
    return run_jobs(
        grid_jobs(grid, root),
        backend=backend,
        workers=workers,
        on_done=functools.partial(record_outcome, on_done=on_done),
        failures="record",
        ray=ray,
    )


def record_outcome(job: Job, result: Any, on_done: OnDone | None = None) -> None:
    """Write ``failed.json`` for a failed job (remove a stale one for a success)."""
    failed = Path(job.kwargs["run_dir"]) / FAILED
    if isinstance(result, JobFailure):
        write_json_atomic(failed, {"job": job.label, "error": result.error})
    elif failed.exists():
        failed.unlink()
    if on_done is not None:
        on_done(job, result)

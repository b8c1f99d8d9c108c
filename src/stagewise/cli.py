"""The ``stagewise`` command line.

Problem config fields are given as extra options after the problem name, e.g.
``stagewise solve capacity-expansion --T 4 --K 3`` (values are parsed as YAML
scalars or lists); ``--config FILE`` loads a JSON/YAML config first.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
import time
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import typer
import yaml
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

import stagewise
from stagewise.bench.compare import gap_percent
from stagewise.bench.executor import JobError
from stagewise.core.config import ConfigError, config_fields, load_config
from stagewise.core.files import RunFileError, write_json_atomic
from stagewise.core.policy import Evaluation, RandomPolicy, evaluate
from stagewise.core.registry import ProblemSpec, get_problem, load_object
from stagewise.core.safety_env import SAFETY_SUFFIX
from stagewise.core.typed import typed

app = typer.Typer(
    help="stagewise: OR problems as constrained environments, their optima, and RL agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# Piped output (files, CI logs) gets a wide page instead of rich's 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)
EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}
REFERENCE = "optimal"  # the policy every gap is measured to
SHORT_TABLE = 20  # rows of a solution table printed without --full


# ----------------------------------------------------------------- helpers
def fail(message: str) -> None:
    """Print ``message`` as one ``error:`` line (never wrapped, no markup) and exit with 2."""
    console.print(
        Text.assemble(("error:", "bold red"), " ", " ".join(message.split())), soft_wrap=True
    )
    raise typer.Exit(2)


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """``["--T", "3", "--K=2"]`` -> ``{"T": 3, "K": 2}`` (values parsed as YAML)."""
    overrides: dict[str, Any] = {}
    i = 0
    while i < len(args):
        token = args[i]
        if not token.startswith("--") or len(token) <= 2:
            fail(f"unexpected argument {token!r}; config fields are given as --FIELD VALUE")
        key, eq, value = token[2:].partition("=")
        if not eq:
            if i + 1 >= len(args):
                fail(f"option --{key} needs a value")
            value = args[i + 1]
            i += 1
        overrides[key.replace("-", "_")] = _parse_value(value)
        i += 1
    return overrides


def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def problem_or_fail(name: str) -> ProblemSpec:
    try:
        spec = get_problem(name)
    except KeyError as err:
        fail(str(err.args[0]))
        raise
    if name.strip() not in {spec.slug, spec.name, spec.env_id, spec.name.lower(), *spec.aliases}:
        note(f"{name!r} taken as {spec.slug}")
    return spec


def note(message: str) -> None:
    """A one-line notice (no markup): something the user should know but that is not an error."""
    console.print(Text.assemble(("note:", "yellow"), " ", message), soft_wrap=True)


def problem_config(spec: ProblemSpec, config: Path | None, overrides: dict[str, Any]) -> Any:
    try:
        return load_config(spec.env_class().config_model, config, overrides)
    except ConfigError as err:
        fail(str(err))


def make_env(spec: ProblemSpec, cfg: Any, action_mode: str = "box") -> gym.Env:
    try:
        return gym.make(spec.env_id, config=cfg, action_mode=action_mode)
    except (ConfigError, ValueError) as err:
        fail(str(err))
        raise


def with_safety_layer(env: gym.Env, projection_weight: float = 0.0) -> gym.Env:
    """``env`` stepped through its problem's safety layer (one ``error:`` line and exit 2
    for a problem without rows)."""
    from stagewise.core.safety_env import SafetyLayerEnv

    try:
        return SafetyLayerEnv(env, projection_weight)
    except ValueError as err:
        fail(str(err))
        raise


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[..., None]]:
    """A rich progress bar; yields ``advance(n, label=None)`` (``label`` renames the bar)."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1, label: str | None = None) -> None:
            # a total that falls short makes the bar grow, never overflow
            done = bar.tasks[task].completed + n
            total = max(done, bar.tasks[task].total or 0)
            bar.update(task, completed=done, total=total, description=label or description)

        yield advance


def write_json(path: Path, payload: Any) -> None:
    write_json_atomic(path, payload, default=_json_default)
    console.print(f"wrote {path.resolve()}", soft_wrap=True, markup=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def print_rows(title: str, rows: list[dict[str, Any]]) -> None:
    """A list of uniform dicts as a table."""
    if not rows:
        return
    table = Table(title=title)
    for key in rows[0]:
        table.add_column(str(key))
    for row in rows:
        table.add_row(*(_fmt(v) for v in row.values()))
    console.print(table)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def evaluation_rows(name: str, evaluation: Evaluation) -> dict[str, Any]:
    s = evaluation.summary()
    return {
        "policy": name,
        "episodes": s["episodes"],
        "reward mean": s["reward_mean"],
        "reward std": s["reward_std"],
        "reward s.e.": s["reward_se"],
        "cost mean": s["cost_mean"],
        "cost std": s["cost_std"],
    }


# ---------------------------------------------------------------- commands
@app.command("list")
def list_problems() -> None:
    """List the registered problems."""
    table = Table(title="stagewise problems")
    table.add_column("name")
    table.add_column("gymnasium id")
    table.add_column("description")
    for spec in stagewise.problems():
        table.add_row(spec.slug, spec.env_id, spec.summary)
    console.print(table)


@app.command(context_settings=EXTRA)
def info(
    ctx: typer.Context,
    problem: str = typer.Argument(..., help="problem name (see `stagewise list`)"),
    config: Path | None = typer.Option(None, help="JSON/YAML config file"),
) -> None:
    """Show a problem's spaces, horizon, constraint families and config fields."""
    spec = problem_or_fail(problem)
    cfg = problem_config(spec, config, parse_overrides(ctx.args))
    env = make_env(spec, cfg).unwrapped
    console.print(f"[bold]{spec.slug}[/]  ({spec.env_id})\n{spec.summary}\n")
    rows = [("horizon", str(env.horizon)), ("observation space", str(env.observation_space))]
    for mode in env.codec.modes:
        rows.append((f"action space ({mode})", str(env.codec.space(mode))))
    decision = ", ".join(f"{f.name}{list(f.shape)} {f.kind}" for f in env.codec.fields)
    rows += [
        ("decision", decision),
        ("constraint families", ", ".join(env.cost_families)),
        ("reward terms", ", ".join(env.dynamics.reward_term_names)),
        ("policies", ", ".join(["random", *spec.policies])),
        ("optimizer", spec.solve or "-"),
    ]
    table = Table(show_header=False)
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)
    fields = Table(title="config fields")
    for column in ("field", "type", "value", "default", "description"):
        fields.add_column(column)
    for name, annotation, default, doc in config_fields(type(cfg)):
        fields.add_row(name, annotation, _fmt(getattr(cfg, name)), _fmt(default), doc)
    console.print(fields)


@app.command("evaluate", context_settings=EXTRA)
def evaluate_command(
    ctx: typer.Context,
    problem: str = typer.Argument(..., help="problem name"),
    policy: list[str] = typer.Option(
        [], "--policy", help="named policy (repeatable): random, or see `stagewise info`"
    ),
    run: list[Path] = typer.Option([], "--run", help="trained run directory (repeatable)"),
    episodes: int = typer.Option(1000, min=1, help="Monte-Carlo episodes"),
    seed: int = typer.Option(0, help="episode k uses seed + k (common random numbers)"),
    config: Path | None = typer.Option(None, help="JSON/YAML config file"),
    out: Path | None = typer.Option(None, help="write the results as JSON"),
    gap: bool = typer.Option(
        True, "--gap/--no-gap", help="also evaluate the `optimal` policy, for the gap column"
    ),
    window: int | None = typer.Option(
        None, min=1, help="planning window of rolling-horizon policies (mpc), in periods"
    ),
    scenarios: int | None = typer.Option(
        None, min=1, help="scenario count of sample-average policies (copper-blending's sp)"
    ),
    safety_layer: bool = typer.Option(
        False,
        "--safety-layer",
        help="step the --policy policies (not the optimal reference) through the problem's "
        "safety layer; a run trained with the layer always is",
    ),
) -> None:
    """Evaluate policies by Monte Carlo with common random numbers.

    Where the problem has an `optimal` policy, it is evaluated on the same episodes
    and each row shows its gap to it: 100 (R_opt - R) / |R_opt| on sampled means.
    """
    spec = problem_or_fail(problem)
    cfg = problem_config(spec, config, parse_overrides(ctx.args))
    if not policy and not run:
        fail("give at least one --policy NAME or --run DIR")
    if gap and REFERENCE in spec.policies and REFERENCE not in policy:
        policy = [REFERENCE, *policy]
    options = {"window": window, "scenarios": scenarios}
    for option, value in options.items():
        takers = [
            p
            for p in policy
            if p in spec.policies
            and option in inspect.signature(load_object(spec.policies[p])).parameters
        ]
        if value is not None and not takers:
            note(f"--{option} is ignored: no policy given takes it on {spec.slug}")
    candidates = [(name, *_named_policy(spec, cfg, name, options)) for name in policy]
    if safety_layer:
        candidates = [
            (name, env, pol)
            if name == REFERENCE
            else (name + SAFETY_SUFFIX, with_safety_layer(env), pol)
            for name, env, pol in candidates
        ]
    candidates += [(str(path), *_run_policy(spec, path, cfg)) for path in run]
    rows, results = [], {}
    for name, env, pol in candidates:
        with progress_bar(f"evaluate {name}", episodes) as advance:
            result = evaluate(pol, env, episodes=episodes, seed=seed, progress=advance)
        rows.append(evaluation_rows(name, result))
        results[name] = result.summary()
    reference = next((name for name in ("clairvoyant", REFERENCE) if name in results), None)
    if reference is not None:
        optimum = results[reference]["reward_mean"]
        for row in rows:
            row[f"gap to {reference} %"] = gap_percent(optimum, row["reward mean"])
    print_rows(
        f"{spec.slug}: sampled means over {episodes} episodes, seeds {seed}..{seed + episodes - 1}",
        rows,
    )
    print_rows("constraint costs and reward terms", _breakdown_rows(results))
    if out is not None:
        write_json(out, {"problem": spec.slug, "config": cfg.model_dump(), "results": results})


def _breakdown_rows(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per cost family and reward term, one column per policy (means per episode)."""
    costs = sorted({k for r in results.values() for k in r["costs"]})
    terms = sorted({k for r in results.values() for k in r["reward_terms"]})
    rows = []
    for family in costs:
        row: dict[str, Any] = {"mean per episode": f"cost {family}"}
        row.update(
            {name: r["costs"].get(family, {}).get("mean", 0.0) for name, r in results.items()}
        )
        rows.append(row)
    for term in terms:
        row = {"mean per episode": f"reward term {term}"}
        row.update({name: r["reward_terms"].get(term, 0.0) for name, r in results.items()})
        rows.append(row)
    return rows


def _named_policy(
    spec: ProblemSpec, cfg: Any, name: str, options: dict[str, Any] | None = None
) -> tuple[gym.Env, Any]:
    """The named policy on a fresh env; ``options`` (e.g. ``window``) go to the policies
    whose factory takes them."""
    if name == "random":
        env = make_env(spec, cfg)
        return env, RandomPolicy(seed=0)
    if name not in spec.policies:
        choices = ", ".join(["random", *spec.policies])
        fail(f"unknown policy {name!r} for {spec.slug}; choose from {choices}")
    env = make_env(spec, cfg)
    factory = load_object(spec.policies[name])
    accepted = inspect.signature(factory).parameters
    kwargs = {k: v for k, v in (options or {}).items() if v is not None and k in accepted}
    try:
        return env, factory(env, **kwargs)
    except ValueError as err:
        fail(f"policy {name!r}: {err}")
        raise


def _run_policy(spec: ProblemSpec, run_dir: Path, cfg: Any) -> tuple[gym.Env, Any]:
    from stagewise.agents import get_agent
    from stagewise.bench.runs import RUN_FILE, read_run_record

    if not (run_dir / RUN_FILE).is_file():
        fail(f"{run_dir} is not a training run (no {RUN_FILE}); train with `stagewise train`")
    try:
        meta = read_run_record(run_dir)
        if meta["problem"] != spec.slug:
            fail(f"{run_dir} was trained on {meta['problem']}, not {spec.slug}")
        agent = get_agent(meta.get("agent", ""))
        run_cfg = load_config(type(cfg), meta["config"])
        policy = agent.load_policy(run_dir)
    except (RunFileError, ConfigError, KeyError) as err:
        fail(f"{run_dir}: {err.args[0] if isinstance(err, KeyError) else err}")
    if run_cfg != cfg and cfg != type(cfg)():
        console.print("[yellow]note:[/] evaluating on the given config, not the training config")
    else:
        cfg = run_cfg
    env = make_env(spec, cfg, meta.get("action_mode", agent.action_mode))
    layer = meta.get("method_config", {}).get("safety_layer")
    if layer is not None:  # the layer is part of the trained policy
        env = with_safety_layer(env, layer["projection_weight"])
    return env, policy


@app.command(context_settings=EXTRA)
def solve(
    ctx: typer.Context,
    problem: str = typer.Argument(..., help="problem name"),
    config: Path | None = typer.Option(None, help="JSON/YAML config file"),
    time_limit: float | None = typer.Option(None, help="solver time limit (s)"),
    plan: Path | None = typer.Option(None, help="write the optimal plan (JSON)"),
    plot: Path | None = typer.Option(None, help="directory for the solution's plots (PNG)"),
    out: Path | None = typer.Option(None, help="write the result as JSON"),
    episodes: int | None = typer.Option(
        None, min=1, help="episodes of a sampled bound (copper-blending; default 1000)"
    ),
    seed: int | None = typer.Option(None, help="first episode seed of a sampled bound"),
    full: bool = typer.Option(
        False, "--full", help="print every row of long tables (capacity expansion's thresholds)"
    ),
) -> None:
    """Compute the problem's optimum (or bound) with its exact optimizer."""
    spec = problem_or_fail(problem)
    if spec.solve is None:
        fail(f"{spec.slug} has no optimizer")
    cfg = problem_config(spec, config, parse_overrides(ctx.args))
    optimizer = load_object(spec.solve)
    sampling = {k: v for k, v in (("episodes", episodes), ("seed", seed)) if v is not None}
    accepted = inspect.signature(optimizer).parameters
    if any(name not in accepted for name in sampling):
        fail(f"{spec.slug}'s optimizer is not sampled: --episodes and --seed do not apply")
    with console.status(f"solving {spec.slug} ..."):
        solution = optimizer(cfg, time_limit=time_limit, **sampling)
    kind = "bound" if solution.status == "bound" else "optimum"
    table = Table(show_header=False, title=f"{spec.slug}: {kind}")
    scalars = [(k, v) for k, v in solution.details.items() if isinstance(v, int | float | str)]
    for key, value in (
        ("objective", solution.objective),
        ("bound", solution.bound if solution.bound is not None else "-"),
        ("status", solution.status),
        ("solve time (s)", solution.solve_time),
        *scalars,
    ):
        table.add_row(key, _fmt(value))
    console.print(table)
    for key, value in solution.details.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            shown = value if full or len(value) <= SHORT_TABLE else value[:SHORT_TABLE]
            print_rows(key, shown)
            if len(shown) < len(value):
                note(
                    f"{key}: first {len(shown)} of {len(value)} rows; --full prints all, "
                    "--out FILE writes them"
                )
    if plan is not None:
        if solution.plan is None:
            fail(f"{spec.slug}'s optimum is a closed-loop policy, not an open-loop plan")
        write_json(plan, solution.plan)
    if plot is not None:
        if spec.plot is None:
            fail(f"{spec.slug} has no solution plots")
        for path in load_object(spec.plot)(solution, cfg, plot):
            console.print(f"wrote {path}")
    if out is not None:
        payload = {
            "problem": spec.slug,
            "config": cfg.model_dump(),
            "objective": solution.objective,
            "bound": solution.bound,
            "status": solution.status,
            "solve_time": solution.solve_time,
            "details": solution.details,
        }
        write_json(out, payload)


@app.command(context_settings=EXTRA)
def train(
    ctx: typer.Context,
    problem: str = typer.Argument(..., help="problem name"),
    agent: str = typer.Option(..., help="agent name (dqn, ppo, ppo-lag, ...)"),
    steps: int | None = typer.Option(
        None, min=1, help="environment steps (agent default if unset)"
    ),
    seed: int = typer.Option(0, help="seed of the run"),
    cost_limit: float | None = typer.Option(None, help="cost limit of a safe agent"),
    run_dir: Path | None = typer.Option(
        None, help="run directory (default runs/PROBLEM/AGENT/seedK)"
    ),
    hp: list[str] = typer.Option([], help="agent hyper-parameter KEY=VALUE (repeatable)"),
    config: Path | None = typer.Option(None, help="JSON/YAML problem config file"),
    new: bool = typer.Option(
        False, "--new", help="start a new run folder (RUN_DIR-2, -3, ...) if RUN_DIR exists"
    ),
    safety_layer: bool = typer.Option(
        False,
        "--safety-layer",
        help="step every action through the problem's safety layer (projection onto the "
        "step's constraints; its distance is the cost family 'projection')",
    ),
    projection_weight: float = typer.Option(
        0.0, min=0.0, help="with --safety-layer: weight of the projection distance in the reward"
    ),
) -> None:
    """Train an agent on a problem; a run folder with the same fingerprint resumes.

    The run folder is fingerprinted when it starts (problem config, agent settings,
    seed, code version): training again into it resumes from its checkpoint only with
    the same fingerprint, and is refused otherwise (``--new`` starts a new folder).
    """
    from stagewise.agents import get_agent
    from stagewise.bench.runs import RunFolder, RunRecord, new_run_dir
    from stagewise.core.safety_env import make_safe_env

    spec = problem_or_fail(problem)
    cfg = problem_config(spec, config, parse_overrides(ctx.args))
    try:
        agent_spec = get_agent(agent)
    except KeyError as err:
        fail(str(err.args[0]))
    settings = _agent_settings(
        agent_spec, hp, steps, seed, cost_limit, (spec.slug, cfg.model_dump())
    )
    if cost_limit is not None and not agent_spec.constrained:
        note(
            f"--cost-limit is ignored: {agent} holds no cost limit (a safe agent, e.g. "
            f"{agent}-lag, does)"
        )
    planned = settings.planned_steps() if hasattr(settings, "planned_steps") else None
    if planned is not None and planned != settings.total_steps:
        note(
            f"{agent} trains whole epochs of steps_per_epoch={settings.steps_per_epoch}: "
            f"{planned} steps for --steps {settings.total_steps}"
        )
    restarts = getattr(settings, "restarts", 1)
    if restarts > 1:
        note(
            f"{agent} trains each of its restarts={restarts} for --steps "
            f"{settings.total_steps}: {restarts * settings.total_steps} steps in all"
        )
    probe = make_env(spec, cfg, agent_spec.action_mode)
    if safety_layer:
        probe = with_safety_layer(probe, projection_weight)
    elif projection_weight:
        note("--projection-weight is ignored without --safety-layer")
    probe.close()
    label = agent + SAFETY_SUFFIX if safety_layer else agent
    run_dir = run_dir or Path("runs") / spec.slug / label / f"seed{seed}"
    if new:
        run_dir = new_run_dir(run_dir)
    method_config = dataclasses.asdict(settings)
    if safety_layer:  # part of the fingerprint
        method_config["safety_layer"] = {"projection_weight": projection_weight}
    record = RunRecord(
        problem=spec.slug,
        method=agent,
        kind="agent",
        seed=seed,
        config=cfg.model_dump(),
        method_config=method_config,
        action_mode=agent_spec.action_mode,
    )
    # a partial, not a lambda: agents may train in spawned processes (DAH-DDPG restarts)
    env_fn = functools.partial(
        gym.make, spec.env_id, config=cfg, action_mode=agent_spec.action_mode
    )
    if safety_layer:
        env_fn = functools.partial(
            make_safe_env,
            spec.env_id,
            projection_weight,
            config=cfg,
            action_mode=agent_spec.action_mode,
        )
    start = time.perf_counter()
    try:
        with RunFolder(run_dir, record) as run:
            if run.resumed:
                console.print(f"resuming {run_dir} (same fingerprint)")
            total = (planned or settings.total_steps) * restarts
            with progress_bar(f"train {label} on {spec.slug}", total) as advance:
                agent_spec.train(env_fn, settings, run_dir, progress=advance)
    except RunFileError as err:
        fail(str(err))
    console.print(f"trained in {time.perf_counter() - start:.1f} s; run directory {run_dir}")
    console.print(f"evaluate with: stagewise evaluate {spec.slug} --run {run_dir}")


def _agent_settings(
    agent_spec: Any,
    hp: list[str],
    steps: int | None,
    seed: int,
    cost_limit: float | None,
    problem: tuple[str, dict[str, Any]],
) -> Any:
    """The agent's settings: its per-problem defaults (``agents/defaults.yaml``), then
    ``--steps``, ``--cost-limit`` and ``--hp`` over them."""
    from stagewise.agents.defaults import problem_defaults

    names = {f.name for f in dataclasses.fields(agent_spec.config)}
    slug, config = problem
    values: dict[str, Any] = {**problem_defaults(agent_spec.name, slug, config), "seed": seed}
    if steps is not None:
        values["total_steps"] = steps
    if cost_limit is not None:
        if "cost_limit" not in names:
            fail(f"--cost-limit: agent {agent_spec.name} has no cost limit (not a safe agent)")
        values["cost_limit"] = cost_limit
    for item in hp:
        key, eq, value = item.partition("=")
        if not eq:
            fail(f"--hp takes KEY=VALUE, got {item!r}")
        values[key.replace("-", "_")] = _parse_value(value)
    try:
        return agent_spec.settings(values)
    except ValueError as err:
        fail(str(err))


@app.command()
def bench(
    grid_file: Path = typer.Argument(..., help="grid YAML (problems x agents x seeds)"),
    root: Path = typer.Option(Path("runs"), help="root of the run folders"),
    backend: str = typer.Option("local", help="local (processes), ray, or inline"),
    workers: int = typer.Option(2, min=1, help="parallel jobs for the local backend"),
    address: str | None = typer.Option(
        None, help="Ray cluster address (ray backend; default RAY_ADDRESS, else a local one)"
    ),
    cpus_per_job: float = typer.Option(
        1.0, min=0.01, help="CPUs Ray reserves per job (ray backend; jobs use one torch thread)"
    ),
    profile: str | None = typer.Option(
        None,
        help="a profile of the grid (its `profiles:`), e.g. quick; runs go to EXPERIMENT-PROFILE",
    ),
    quick: bool = typer.Option(False, "--quick", help="the grid's quick profile (--profile quick)"),
) -> None:
    """Run a benchmark grid; complete runs are skipped, interrupted ones resume.

    One line per finished run (reward, cost, time); a run that fails is recorded in its
    folder (failed.json) and the grid goes on; the bench exits 1 if any run failed.
    """
    from stagewise.bench.executor import JobFailure, run_jobs
    from stagewise.bench.grid import grid_jobs, load_grid, record_outcome
    from stagewise.bench.ray_backend import RayOptions
    from stagewise.core.files import FolderLock

    experiment = root
    failed: list[str] = []
    try:
        grid = load_grid(grid_file, "quick" if quick else profile)
        experiment = root / grid.experiment
        # one bench per experiment at a time; each run folder is locked by its job too
        with FolderLock(experiment, purpose="stagewise bench"):
            jobs = grid_jobs(grid, root)
            console.print(f"{grid.experiment}: {len(jobs)} job(s) to run under {experiment}")
            with progress_bar(f"bench {grid.experiment}", len(jobs)) as advance:

                def done(job: Any, result: Any) -> None:
                    record_outcome(job, result)
                    if isinstance(result, JobFailure):
                        failed.append(job.label)
                    console.print(_run_line(job.label, result), soft_wrap=True, markup=False)
                    finished[0] += 1
                    running = min(workers, len(jobs) - finished[0])
                    advance(
                        1,
                        f"bench {grid.experiment}: {finished[0]} done, {running} running, "
                        f"{len(failed)} failed",
                    )

                finished = [0]
                run_jobs(
                    jobs,
                    backend=backend,
                    workers=workers,
                    on_done=done,
                    failures="record",
                    ray=RayOptions(address=address, cpus_per_job=cpus_per_job),
                )
    except (ConfigError, RunFileError) as err:
        fail(str(err))
    except ValueError as err:
        fail(f"{experiment}: {err}")
    if failed:
        console.print(f"{len(failed)} run(s) failed: {', '.join(failed)} (see failed.json)")
        console.print("run the same command again to retry them")
        raise typer.Exit(1)
    console.print(f"report with: stagewise report {experiment}")


def _run_line(label: str, result: Any) -> str:
    """One line per finished run: reward, cost and time, or why it has none."""
    from stagewise.bench.executor import JobFailure

    if isinstance(result, JobFailure):
        return f"failed  {label}: {result.error}"
    if result.get("kind") == "unsupported":
        return f"skipped {label}: {result['reason']}"
    seconds = result.get("train_seconds", 0.0) + result.get("eval_seconds", 0.0)
    return (
        f"done    {label}: reward {_fmt(result['reward_mean'])} cost "
        f"{_fmt(result['cost_mean'])} ({seconds:.1f} s)"
    )


@app.command()
def report(
    run_folder: Path = typer.Argument(..., help="a run folder (runs/<experiment>)"),
    out: Path | None = typer.Option(None, help="output folder (default: the run folder)"),
) -> None:
    """Tables (Markdown, CSV) and plots (PNG) of a run folder."""
    from stagewise.bench.report import write_report

    try:
        rows, paths = write_report(run_folder, out)
    except ValueError as err:
        fail(str(err))
    print_rows(f"report of {run_folder}", rows)
    for path in paths:
        console.print(f"wrote {path}")


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), help="output directory"),
    episodes: int = typer.Option(10_000, min=100, help="Monte-Carlo episodes per policy"),
) -> None:
    """Exact DP vs DQN on capacity expansion (K=2, T=3): table and policy maps."""
    from stagewise.bench.demo import run_demo

    run_demo(out, episodes=episodes, console=console, progress_bar=progress_bar)


def _reproduce_help() -> str:
    """The help of ``reproduce``: each reproduction's options and expected times."""
    lines = [
        "Reproduce a paper's numerical study (tables as Markdown/CSV, figures as PNG).",
        "",
        "Options follow the problem name as --NAME VALUE. Progress bars show an ETA.",
    ]
    for spec in stagewise.problems():
        if spec.reproduce is not None:
            lines += ["", "\b", f"{spec.slug}: {spec.reproduce_help}"]
    return "\n".join(lines)


@app.command(context_settings=EXTRA, help=_reproduce_help())
def reproduce(
    ctx: typer.Context,
    problem: str = typer.Argument(..., help="problem whose paper to reproduce"),
    out: Path = typer.Option(Path("runs/reproduce"), help="output directory"),
) -> None:
    spec = problem_or_fail(problem)
    if spec.reproduce is None:
        fail(f"{spec.slug} has no reproduction")
    entry = load_object(spec.reproduce)
    options = _reproduce_options(spec.slug, entry, parse_overrides(ctx.args))
    for line in spec.reproduce_help.splitlines():
        if line.strip().startswith("time:"):
            note(line.strip().removeprefix("time: ") + " (see stagewise reproduce --help)")
    try:
        entry(out / spec.slug, console=console, progress_bar=progress_bar, **options)
    except (ValueError, ConfigError, JobError) as err:
        fail(str(err))


def _reproduce_options(
    slug: str, entry: Callable[..., Any], options: dict[str, Any]
) -> dict[str, Any]:
    """``options`` checked against the reproduction's keyword parameters (those with a
    default) and their types: an unknown option or a wrongly typed value is one
    ``error:`` line naming the option, as ``train --hp`` does for agent settings."""
    parameters = inspect.signature(entry).parameters.values()
    known = [p.name for p in parameters if p.default is not inspect.Parameter.empty]
    unknown = sorted(set(options) - set(known))
    if unknown:
        fail(
            f"reproduce {slug} has no option(s) {', '.join('--' + n for n in unknown)}; "
            f"its options are {', '.join('--' + n for n in known)}"
        )
    hints = typing.get_type_hints(entry)
    try:
        return {
            name: typed(f"reproduce {slug}: option --{name}", value, hints[name])
            for name, value in options.items()
        }
    except ValueError as err:
        fail(str(err))
        raise


def main() -> None:
    """Console-script entry point."""
    app()

"""Problem registry: ids, Gymnasium registration and discovery.

Each problem package calls :func:`register` once with a :class:`ProblemSpec`.
Heavy pieces (optimizers, baseline policies, reproduction scripts) are named
by import path (``"package.module:attribute"``) so that ``import stagewise``
stays fast and never imports a solver.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym


@dataclass(frozen=True)
class ProblemSpec:
    """How stagewise knows a problem.

    Attributes:
        name: CamelCase problem name; the Gymnasium id is ``stagewise/<name>-v0``.
        slug: CLI name (``capacity-expansion``).
        summary: one-line description.
        env: import path of the :class:`~stagewise.core.env.ConstrainedEnv` subclass.
        solve: import path of ``solve(config, **options) -> Solution``, if any.
        policies: named baseline policies: import paths of ``factory(env, **options) -> Policy``.
        reproduce: import path of the paper-reproduction entry point, if any.
        reproduce_help: its options (``--NAME VALUE`` lines) and expected times, shown by
            ``stagewise reproduce --help`` and when a reproduction starts.
        plot: import path of ``plot(solution, config, out_dir) -> list[Path]``, if any.
        stochastic: whether episodes from different seeds differ (used by the contract tests).
        aliases: other CLI names accepted for the problem (``invmgmt`` for ``inventory``).
    """

    name: str
    slug: str
    summary: str
    env: str
    solve: str | None = None
    policies: dict[str, str] = field(default_factory=dict)
    reproduce: str | None = None
    reproduce_help: str = ""
    plot: str | None = None
    stochastic: bool = True
    aliases: tuple[str, ...] = ()

    @property
    def env_id(self) -> str:
        return f"stagewise/{self.name}-v0"

    def env_class(self) -> Any:
        return load_object(self.env)


_PROBLEMS: dict[str, ProblemSpec] = {}


def load_object(path: str) -> Any:
    """Import ``"package.module:attribute"``."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def register(spec: ProblemSpec) -> None:
    """Add ``spec`` to the registry and register its Gymnasium id.

    The problem's native batched env is its ``vector_entry_point``, so
    ``gym.make_vec(id, num_envs=N)`` gives the same dynamics on a batch of N.
    """
    _PROBLEMS[spec.slug] = spec
    if spec.env_id not in gym.registry:
        gym.register(
            id=spec.env_id,
            entry_point=spec.env,
            vector_entry_point=functools.partial(make_native_vector, spec.env),
        )


def make_native_vector(env_path: str, num_envs: int = 1, **kwargs: Any) -> Any:
    """The native vector env of the problem class at ``env_path`` (``make_vector``)."""
    kwargs.pop("render_mode", None)  # stagewise problems do not render
    return load_object(env_path).make_vector(num_envs, **kwargs)


def problems() -> list[ProblemSpec]:
    """Every registered problem, in registration order."""
    return list(_PROBLEMS.values())


def get_problem(name: str) -> ProblemSpec:
    """Look a problem up by slug, CamelCase name, Gymnasium id, or a slug's unique first word
    (``copper`` for ``copper-blending``)."""
    key = name.strip()
    for spec in _PROBLEMS.values():
        if key in {spec.slug, spec.name, spec.env_id, spec.name.lower(), *spec.aliases}:
            return spec
    by_first_word = [s for s in _PROBLEMS.values() if s.slug.split("-")[0] == key]
    if len(by_first_word) == 1:
        return by_first_word[0]
    known = ", ".join(sorted(_PROBLEMS))
    raise KeyError(f"unknown problem {name!r}; registered problems: {known}")

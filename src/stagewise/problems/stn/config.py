"""Configuration of state-task-network scheduling (SafeOR-Gym STNEnv, A.2).

The published files (``hard_environment_config.json``, the Table-1 case study
with T = 30, and ``easy_environment_config.json``, T = 10) load as they are
(``config=path``); the package ships both under ``data/``. Fields a dict or file
leaves out come from the shipped case study named by ``case`` (default ``hard``).
A task may run on every unit with a batch range (``Vmin``/``Vmax`` per unit);
each output arrives after its processing time ``p`` and the unit is held for
the longest of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, model_validator

from stagewise.core.production_scheduling.layout import NetworkConfig, TaskBase, published_layout
from stagewise.core.production_scheduling.network import Network

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_FILE = DATA_DIR / "hard_environment_config.json"
EASY_FILE = DATA_DIR / "easy_environment_config.json"


class STNTask(TaskBase):
    """A task of the state-task network: processing times per output, batch range per unit."""

    p: dict[str, Annotated[int, Field(ge=1, le=1000)]] = Field(
        description="processing time (periods) of each output state"
    )
    Vmin: dict[str, Annotated[float, Field(ge=0, le=1e9)]] = Field(
        description="smallest batch per unit"
    )
    Vmax: dict[str, Annotated[float, Field(gt=0, le=1e9)]] = Field(
        description="largest batch per unit"
    )

    @model_validator(mode="after")
    def _ranges(self) -> STNTask:
        if set(self.Vmin) != set(self.Vmax) or not self.Vmin:
            raise ValueError("Vmin and Vmax must name the same, non-empty set of units")
        for unit, low in self.Vmin.items():
            if low > self.Vmax[unit]:
                raise ValueError(f"Vmin[{unit!r}] = {low} exceeds Vmax = {self.Vmax[unit]}")
        missing = sorted(set(self.produced()) - set(self.p))
        if missing:
            raise ValueError(f"p lacks the processing time of outputs {missing}")
        return self

    @property
    def hold(self) -> int:
        """Periods a unit stays busy: the longest processing time."""
        return max(self.p.values())


class STNConfig(NetworkConfig):
    """Parameters of A.2 (defaults: the published hard case study, 30 periods).

    ``decoding="published"`` keeps the full task x unit action matrix (infeasible
    pairs inert); the default has one entry per feasible (task, unit) pair.
    """

    tasks: dict[str, STNTask] = Field(  # type: ignore[assignment]
        description="tasks with stoichiometry, p, Vmin/Vmax per unit"
    )

    @model_validator(mode="before")
    @classmethod
    def _read_published_layout(cls, data: Any) -> Any:
        return published_layout(data, DEFAULT_FILE, EASY_FILE)

    @model_validator(mode="after")
    def _units_exist(self) -> STNConfig:
        for name, task in self.tasks.items():
            unknown = sorted(set(task.Vmin) - set(self.equipments))
            if unknown:
                raise ValueError(f"tasks[{name!r}].Vmin: units {unknown} are not among equipments")
        return self

    def network(self) -> Network:
        """One pair per (task, unit): the feasible ones, or (published) the full matrix."""
        pairs = []
        for name, task in self.tasks.items():
            for unit in self.equipments:
                feasible = unit in task.Vmin
                if not feasible and self.decoding != "published":
                    continue
                low, high = (task.Vmin[unit], task.Vmax[unit]) if feasible else (0.0, 0.0)
                pairs.append((f"{name}@{unit}", task, [unit], low, high, task.p, task.hold))
        return self.build_network(pairs)

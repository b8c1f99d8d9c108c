"""Configuration of resource-task-network scheduling (SafeOR-Gym RTNEnv, A.1).

The published files (``hard_environment_config.json``, the Table-1 case study
with T = 30, and ``easy_environment_config.json``, T = 10) load as they are
(``config=path``); the package ships both under ``data/``. Fields a dict or file
leaves out come from the shipped case study named by ``case`` (default ``hard``).
Each task is one pair: it runs on all of its equipment, delivers every output
``tau`` periods after its start and holds its equipment for ``tau`` periods.
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


class RTNTask(TaskBase):
    """A task of the resource-task network: duration ``tau`` and batch range ``[Vmin, Vmax]``."""

    tau: Annotated[int, Field(ge=1, le=1000)] = Field(description="duration (periods)")
    Vmin: Annotated[float, Field(ge=0, le=1e9)] = Field(description="smallest batch")
    Vmax: Annotated[float, Field(gt=0, le=1e9)] = Field(description="largest batch")

    @model_validator(mode="after")
    def _range(self) -> RTNTask:
        if self.Vmin > self.Vmax:
            raise ValueError(f"Vmin = {self.Vmin} exceeds Vmax = {self.Vmax}")
        return self


class RTNConfig(NetworkConfig):
    """Parameters of A.1 (defaults: the published hard case study, 30 periods)."""

    tasks: dict[str, RTNTask] = Field(  # type: ignore[assignment]
        description="tasks with stoichiometry, tau, Vmin, Vmax"
    )

    @model_validator(mode="before")
    @classmethod
    def _read_published_layout(cls, data: Any) -> Any:
        return published_layout(data, DEFAULT_FILE, EASY_FILE)

    def network(self) -> Network:
        """One pair per task, holding all of the task's equipment for ``tau`` periods."""
        pairs = [
            (
                name,
                task,
                list(task.equipments.values()),
                task.Vmin,
                task.Vmax,
                dict.fromkeys(task.produced(), task.tau),
                task.tau,
            )
            for name, task in self.tasks.items()
        ]
        return self.build_network(pairs)

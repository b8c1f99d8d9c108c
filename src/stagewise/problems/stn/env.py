"""State-task-network scheduling (SafeOR-Gym STNEnv, A.2) as a constrained MDP, batched."""

from __future__ import annotations

from typing import ClassVar

from stagewise.core.production_scheduling.network import NetworkEnv
from stagewise.problems.stn.config import STNConfig


class STNEnv(NetworkEnv):
    """Batch-plant scheduling on a state-task network (SafeOR-Gym STNEnv, A.2).

    **Decision** per period: the batch ``batch`` of every feasible (task, unit)
    pair (``decoding="published"``: of the full task x unit matrix, row-major,
    infeasible pairs inert). Default decoding: ``a < 0`` idles the pair,
    ``a in [0, 1]`` maps onto ``[Vmin, Vmax]`` of the pair; published: ``[-1, 1]``
    onto ``[Vmin, Vmax]`` with idle only for ``|a| <= 1e-3``. ``box`` mode only.

    **Dynamics** (A.2.5, physically corrected): as RTN, with each output
    delivered after its processing time ``p`` and the unit held for the longest.

    **Costs** (A.2.6, counts per step): ``inventory_bounds``, ``equipment`` (batches
    asked of a busy unit), ``sanitization`` (batches cut or dropped for lack of
    material, or with ``sanitization="magnitude"`` the batch amount
    removed, times ``lambda_sanit``) and ``action_range``.

    **Reward** (A.2.7): revenue minus unmet demand (``1.5 x`` price), utility
    and order costs.

    **Observation** (float32 in [0, 1]): stock, free units, pending outputs and
    unit returns, demand of every remaining period and ``t / T``.
    """

    problem_id: ClassVar[str] = "STN"
    slug: ClassVar[str] = "stn"
    summary: ClassVar[str] = "Batch-plant scheduling on a state-task network (SafeOR-Gym A.2)"
    config_model = STNConfig

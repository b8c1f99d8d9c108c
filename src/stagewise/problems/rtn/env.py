"""Resource-task-network scheduling (SafeOR-Gym RTNEnv, A.1) as a constrained MDP, batched."""

from __future__ import annotations

from typing import ClassVar

from stagewise.core.production_scheduling.network import NetworkEnv
from stagewise.problems.rtn.config import RTNConfig


class RTNEnv(NetworkEnv):
    """Batch-plant scheduling on a resource-task network (SafeOR-Gym RTNEnv, A.1).

    **Decision** per period: the batch ``batch`` ``[J]`` of every task. Default
    decoding: ``a < 0`` idles the task, ``a in [0, 1]`` maps onto ``[Vmin, Vmax]``;
    ``decoding="published"``: ``[-1, 1]`` onto ``[Vmin, Vmax]`` with idle only
    for ``|a| <= 1e-3``. ``box`` mode only.

    **Dynamics** (A.1.5, physically corrected): sanitization (busy equipment
    drops the batch, missing intermediates cut or drop it), consumption at the
    start, reactant orders below ``Xmin``, sales taken out of product stock,
    outputs and equipment back ``tau`` periods after the start, stock above
    ``Xmax`` discarded.

    **Costs** (A.1.6, counts per step): ``inventory_bounds`` (materials overflowing
    ``Xmax``), ``equipment`` (batches asked of busy equipment), ``sanitization``
    (batches cut or dropped for lack of material, or with
    ``sanitization="magnitude"`` the batch amount removed, times ``lambda_sanit``)
    and ``action_range``.

    **Reward** (A.1.7): revenue minus unmet demand (``1.5 x`` price), utility
    and order costs.

    **Observation** (float32 in [0, 1]): stock scaled into its bounds, free
    equipment, pending outputs and equipment returns, demand of every remaining
    period (zero-padded, scaled by the peak) and ``t / T``.
    """

    problem_id: ClassVar[str] = "RTN"
    slug: ClassVar[str] = "rtn"
    summary: ClassVar[str] = "Batch-plant scheduling on a resource-task network (SafeOR-Gym A.1)"
    config_model = RTNConfig

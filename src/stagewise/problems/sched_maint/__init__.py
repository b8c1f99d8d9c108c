"""Integrated scheduling and maintenance: SafeOR-Gym SchedMaintEnv (Appendix A.8)."""

from stagewise.core.registry import ProblemSpec, register

register(
    ProblemSpec(
        name="SchedMaint",
        slug="sched-maint",
        summary=(
            "Daily production, compressor maintenance and purchases of an ASU over 31 days "
            "(SafeOR-Gym A.8; variant v1: random MTTF)"
        ),
        env="stagewise.problems.sched_maint.env:SchedMaintEnv",
        solve="stagewise.problems.sched_maint.model:solve",
        policies={
            "optimal": "stagewise.problems.sched_maint.model:optimal_policy",
            "mpc": "stagewise.problems.sched_maint.model:mpc_policy",
            "mpc-reset": "stagewise.problems.sched_maint.model:mpc_reset_policy",
            "clairvoyant": "stagewise.problems.sched_maint.model:clairvoyant_policy",
        },
        stochastic=False,
    )
)

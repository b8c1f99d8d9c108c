"""State-task network batch-plant scheduling: SafeOR-Gym STNEnv (Appendix A.2)."""

from stagewise.core.registry import ProblemSpec, register

register(
    ProblemSpec(
        name="STN",
        slug="stn",
        summary="Batch-plant scheduling on a state-task network (SafeOR-Gym A.2)",
        env="stagewise.problems.stn.env:STNEnv",
        solve="stagewise.problems.stn.model:solve",
        policies={
            "optimal": "stagewise.problems.stn.model:optimal_policy",
            "mpc": "stagewise.problems.stn.model:mpc_policy",
            "clairvoyant": "stagewise.problems.stn.model:clairvoyant_policy",
        },
        stochastic=False,
    )
)

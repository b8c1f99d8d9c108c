"""Resource-task network batch-plant scheduling: SafeOR-Gym RTNEnv (Appendix A.1)."""

from stagewise.core.registry import ProblemSpec, register

register(
    ProblemSpec(
        name="RTN",
        slug="rtn",
        summary="Batch-plant scheduling on a resource-task network (SafeOR-Gym A.1)",
        env="stagewise.problems.rtn.env:RTNEnv",
        solve="stagewise.problems.rtn.model:solve",
        policies={
            "optimal": "stagewise.problems.rtn.model:optimal_policy",
            "mpc": "stagewise.problems.rtn.model:mpc_policy",
            "clairvoyant": "stagewise.problems.rtn.model:clairvoyant_policy",
        },
        stochastic=False,
    )
)

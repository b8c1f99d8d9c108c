"""Grid-integrated energy storage: SafeOR-Gym GridStorageEnv (Appendix A.7)."""

from stagewise.core.registry import ProblemSpec, register

register(
    ProblemSpec(
        name="GridStorage",
        slug="grid-storage",
        summary=(
            "Hourly dispatch of generators, batteries and load shedding on a DC grid with "
            "de-energised lines (SafeOR-Gym A.7)"
        ),
        env="stagewise.problems.grid_storage.env:GridStorageEnv",
        solve="stagewise.problems.grid_storage.model:solve",
        policies={
            "optimal": "stagewise.problems.grid_storage.model:optimal_policy",
            "mpc": "stagewise.problems.grid_storage.model:mpc_policy",
            "clairvoyant": "stagewise.problems.grid_storage.model:clairvoyant_policy",
        },
        stochastic=False,
    )
)

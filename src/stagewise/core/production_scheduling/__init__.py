"""Batch-plant production scheduling shared by the RTN and STN problems.

- :mod:`.network`: the plant as arrays (:class:`~.network.Network`), its batched
  transition and the Gymnasium environment base;
- :mod:`.layout`: the SafeOR-Gym JSON layout both problems' configs use;
- :mod:`.model`: the MILP from any state (imports Pyomo; import it explicitly).
"""

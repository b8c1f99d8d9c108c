"""Experiments that know everything: demos, paper reproductions, grids, reports."""

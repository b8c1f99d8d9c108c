"""Pieces every agent shares: networks, checkpoints, progress logging, seeding."""

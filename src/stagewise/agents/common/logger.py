"""Progress logging: one CSV row per epoch (and TensorBoard scalars when installed)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from stagewise.core.files import write_text_atomic


class ProgressLogger:
    """Appends rows to ``run_dir/progress.csv``; the header is fixed by the first row.

    On resume the file is truncated to the rows up to the checkpointed epoch so a
    resumed run writes exactly what an uninterrupted run would.
    """

    def __init__(self, run_dir: str | Path, tensorboard: bool = False):
        self.path = Path(run_dir) / "progress.csv"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fields: list[str] | None = None
        self._writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._writer = SummaryWriter(str(Path(run_dir) / "tb"))
            except ImportError:
                self._writer = None

    def truncate(self, rows: int) -> None:
        """Keep the header and the first ``rows`` data rows (used when resuming)."""
        if not self.path.exists():
            return
        lines = self.path.read_text().splitlines(keepends=True)
        if lines:
            self._fields = next(csv.reader([lines[0]]))
        write_text_atomic(self.path, "".join(lines[: rows + 1]))

    def log(self, row: dict[str, Any], step: int | None = None) -> None:
        if self._fields is None:
            self._fields = list(row)
            if not self.path.exists() or self.path.stat().st_size == 0:
                with self.path.open("w", newline="") as f:
                    csv.DictWriter(f, fieldnames=self._fields).writeheader()
        with self.path.open("a", newline="") as f:
            csv.DictWriter(f, fieldnames=self._fields, extrasaction="ignore").writerow(row)
        if self._writer is not None and step is not None:
            for key, value in row.items():
                if isinstance(value, int | float):
                    self._writer.add_scalar(key, value, step)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

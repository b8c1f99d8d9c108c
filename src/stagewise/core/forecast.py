"""Forecast windows over a time series, batched over environments.

An observation often holds the next ``width`` values of an exogenous series
(demand, prices) from the current period on. Near the end of the horizon the
window runs past the data; problems differ in what they show there:

- ``"zero"``: zeros (GTEP: "zero-padded beyond the horizon");
- ``"wrap"``: the series read circularly, i.e. the next day of a daily profile
  (unit commitment);
- ``"edge"``: the last value repeated.

Start periods ``t`` are 0-based and non-negative; any ``t`` past the end of
the series is allowed (all padding, or the circular reading).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Literal

import numpy as np

Padding = Literal["zero", "wrap", "edge"]
PADDINGS = ("zero", "wrap", "edge")


def window(series: np.ndarray, t: np.ndarray, width: int, pad: Padding = "zero") -> np.ndarray:
    """Values ``series[t : t + width]`` for each environment.

    Args:
        series: ``[T, ...]``, shared by every environment (see
            :func:`window_batched` for one series per environment, and
            :class:`WindowTable` to read one series at every step).
        t: ``[n]`` integer start periods (0-based).
        width: window length.
        pad: what stands beyond the end of the series.

    Returns:
        ``[n, width, ...]``.
    """
    index, valid = _indices(np.asarray(t), width, series.shape[0], pad)
    out = series[index]
    return _pad(out, valid, pad)


def window_batched(
    series: np.ndarray, t: np.ndarray, width: int, pad: Padding = "zero"
) -> np.ndarray:
    """As :func:`window`, with one series per environment: ``series`` is ``[n, T, ...]``."""
    index, valid = _indices(np.asarray(t), width, series.shape[1], pad)
    rows = np.arange(series.shape[0])[:, None]
    out = series[rows, index]
    return _pad(out, valid, pad)


class WindowTable:
    """Every window of one fixed series, computed once: a step reads its windows in one lookup.

    ``table(t)`` equals ``transform(window(series, t, width, pad))``; use it where
    the same series is read at every environment step. ``transform`` (applied once,
    to the windows of every start period ``[rows, width, ...]``) may reorder, reshape
    or scale each window elementwise, e.g. into the layout of an observation.
    """

    def __init__(
        self,
        series: np.ndarray,
        width: int,
        pad: Padding = "zero",
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
    ):
        _check_pad(pad)
        self.pad: Padding = pad
        self.width = width
        self.length = int(series.shape[0])
        windows = window(series, np.arange(_rows(self.length, pad)), width, pad)
        self._windows = windows if transform is None else transform(windows)
        # The table row of _row in one call: "wrap" reads the rows circularly; otherwise
        # rows past the last (the all-padding window) are clipped to it.
        self._mode = "wrap" if pad == "wrap" else "clip"

    def __call__(self, t: np.ndarray) -> np.ndarray:
        """Windows ``[n, width, ...]`` starting at periods ``t`` ``[n]``."""
        # take does the row lookup of _row and the indexing at a quarter of their cost
        rows = np.asarray(t).astype(np.int64, copy=False)
        return self._windows.take(rows, axis=0, mode=self._mode)


def _check_pad(pad: str) -> None:
    if pad not in PADDINGS:
        raise ValueError(f"pad must be 'zero', 'wrap' or 'edge', got {pad!r}")


def _rows(length: int, pad: Padding) -> int:
    """Distinct windows: one per period, plus (unless circular) the all-padding one."""
    return length if pad == "wrap" else length + 1


def _row(t: np.ndarray, length: int | np.ndarray, pad: Padding) -> np.ndarray:
    """The table row of start period ``t``: windows starting at or past the end all look alike."""
    t = t.astype(np.int64, copy=False)
    return t % length if pad == "wrap" else np.minimum(t, length)


@lru_cache(maxsize=256)
def _index_table(width: int, length: int, pad: Padding) -> tuple[np.ndarray, np.ndarray]:
    """Series indices and validity ``[rows, width]`` of every distinct window (read-only)."""
    index = np.arange(_rows(length, pad))[:, None] + np.arange(width)[None, :]
    valid = index < length
    index = index % length if pad == "wrap" else np.minimum(index, length - 1)
    index.flags.writeable = valid.flags.writeable = False
    return index, valid


def _indices(t: np.ndarray, width: int, length: int, pad: Padding) -> tuple[np.ndarray, np.ndarray]:
    _check_pad(pad)
    # Cached per (width, length, pad): the step path then costs one lookup, not a rebuild.
    index, valid = _index_table(width, length, pad)
    row = _row(t, length, pad)
    return index[row], valid[row]


def _pad(out: np.ndarray, valid: np.ndarray, pad: Padding) -> np.ndarray:
    if pad != "zero":
        return out
    mask = valid.reshape(valid.shape + (1,) * (out.ndim - valid.ndim))
    return np.where(mask, out, 0.0)

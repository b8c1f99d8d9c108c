"""Forecast windows over a time series, batched over environments.

An observation often holds the next ``width`` values of an exogenous series
(demand, prices) from the current period on. Near the end of the horizon the
window runs past the data; problems differ in what they show there:

- ``"zero"``: zeros (GTEP: "zero-padded beyond the horizon");
- ``"wrap"``: the series read circularly, i.e. the next day of a daily profile
  (unit commitment);
- ``"edge"``: the last value repeated.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Padding = Literal["zero", "wrap", "edge"]


def window(series: np.ndarray, t: np.ndarray, width: int, pad: Padding = "zero") -> np.ndarray:
    """Values ``series[t : t + width]`` for each environment.

    Args:
        series: ``[T, ...]``, shared by every environment (see
            :func:`window_batched` for one series per environment).
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


def _indices(t: np.ndarray, width: int, length: int, pad: Padding) -> tuple[np.ndarray, np.ndarray]:
    if pad not in ("zero", "wrap", "edge"):
        raise ValueError(f"pad must be 'zero', 'wrap' or 'edge', got {pad!r}")
    index = t.astype(np.int64)[:, None] + np.arange(width)[None, :]
    valid = index < length
    if pad == "wrap":
        return index % length, valid
    return np.minimum(index, length - 1), valid


def _pad(out: np.ndarray, valid: np.ndarray, pad: Padding) -> np.ndarray:
    if pad != "zero":
        return out
    mask = valid.reshape(valid.shape + (1,) * (out.ndim - valid.ndim))
    return np.where(mask, out, 0.0)

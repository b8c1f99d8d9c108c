"""Codecs between agent-facing actions and physical decisions.

A problem describes its decision as a list of :class:`DecisionField` (named,
bounded arrays that are continuous, integer or binary). :class:`ActionCodec`
derives every action mode from that description:

- ``"box"``: one normalized ``Box(-1, 1)`` vector. A continuous or integer
  field maps affinely onto ``[low, high]`` (integers are rounded); a binary
  field is decided by sign (``> 0`` means 1).
- ``"discrete"``: ``Discrete(n)`` when the decision is a single integer scalar
  (the value is ``low + a``).
- ``"hybrid"``: ``Tuple(MultiBinary(nb), Box(-1, 1, (nc,)))`` where the binary
  fields form the first part and all other fields the second.

All functions work on a leading batch axis, so one codec serves the single
environment and the vector environment alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from gymnasium import spaces

Decision = dict[str, np.ndarray]
# 0-d arrays rather than Python floats: NumPy converts a Python float again at every operation.
_ZERO, _ONE, _MINUS_ONE = np.zeros(()), np.ones(()), -np.ones(())
_REAL_KINDS = "biuf"
MAX_ACTION_EXCESS = 1e6
"""Cap of the clipped amount charged for one action (normalized units): beyond it the
charge carries no information, and an uncapped 1e308 would overflow the cost to inf."""
FieldKind = Literal["continuous", "integer", "binary"]
ActionMode = Literal["box", "discrete", "hybrid"]


@dataclass(frozen=True)
class DecisionField:
    """One named part of the physical decision.

    Attributes:
        name: name of the decision variable (e.g. ``"units"``).
        shape: shape of the variable without the batch axis (``()`` for a scalar).
        low: lower bound, broadcastable to ``shape``.
        high: upper bound, broadcastable to ``shape``.
        kind: ``"continuous"``, ``"integer"`` or ``"binary"``.
    """

    name: str
    shape: tuple[int, ...]
    low: float | np.ndarray
    high: float | np.ndarray
    kind: FieldKind = "continuous"

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=int))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Flat lower and upper bounds, each of length ``size``."""
        if self.kind == "binary":
            return np.zeros(self.size), np.ones(self.size)
        low = np.broadcast_to(np.asarray(self.low, dtype=np.float64), self.shape).ravel()
        high = np.broadcast_to(np.asarray(self.high, dtype=np.float64), self.shape).ravel()
        return low.copy(), high.copy()


class ActionCodec:
    """Maps between each action mode and the named physical decision."""

    def __init__(self, fields: list[DecisionField], modes: tuple[ActionMode, ...] = ("box",)):
        if not fields:
            raise ValueError("an ActionCodec needs at least one decision field")
        self.fields = list(fields)
        self.modes = modes
        for mode in modes:
            if mode == "discrete" and not self._is_single_integer():
                raise ValueError("'discrete' mode needs a single integer scalar decision")
            if mode == "hybrid" and not self._binary_fields():
                raise ValueError("'hybrid' mode needs at least one binary decision field")
        lows, highs = zip(*(f.bounds() for f in self.fields), strict=True)
        self._low = np.concatenate(lows)
        self._high = np.concatenate(highs)
        self._kinds = np.concatenate([np.full(f.size, f.kind, dtype=object) for f in fields])
        # Precomputed once: validation and decoding run at every environment step.
        self._half_span = 0.5 * (self._high - self._low)
        # [1, dim] views: against a batch of one the operands then have equal shapes, which
        # NumPy runs on its fast path (a [dim] operand takes the broadcasting loop).
        self._low_row, self._half_span_row = self._low[None, :], self._half_span[None, :]
        self._integer = _indexer(self._kinds == "integer")
        self._binary = _indexer(self._kinds == "binary")
        self._not_binary = _indexer(self._kinds != "binary")
        self._n_binary = int(np.count_nonzero(self._kinds == "binary"))
        self._slices = self._field_slices(self.fields)
        self._box_shape, self._box_row = (self.dim,), (1, self.dim)
        self._views = [_field_view(f, self._slices[f.name]) for f in self.fields]
        self._n_choices = int(self._high[0] - self._low[0]) + 1 if self._is_single_integer() else 0

    @staticmethod
    def _field_slices(fields: list[DecisionField]) -> dict[str, slice]:
        slices, start = {}, 0
        for f in fields:
            slices[f.name] = slice(start, start + f.size)
            start += f.size
        return slices

    def _is_single_integer(self) -> bool:
        return (
            len(self.fields) == 1 and self.fields[0].kind == "integer" and self.fields[0].size == 1
        )

    def _binary_fields(self) -> list[DecisionField]:
        return [f for f in self.fields if f.kind == "binary"]

    @property
    def dim(self) -> int:
        """Length of the flat physical decision vector."""
        return int(self._low.size)

    @property
    def low(self) -> np.ndarray:
        return self._low.copy()

    @property
    def high(self) -> np.ndarray:
        return self._high.copy()

    # ----------------------------------------------------------------- spaces
    def space(self, mode: ActionMode) -> spaces.Space:
        """The Gymnasium action space of ``mode``."""
        self.check_mode(mode)
        if mode == "box":
            return spaces.Box(-1.0, 1.0, shape=(self.dim,), dtype=np.float32)
        if mode == "discrete":
            return spaces.Discrete(self._n_choices)
        n_cont = self.dim - self._n_binary
        return spaces.Tuple(
            (
                spaces.MultiBinary(self._n_binary),
                spaces.Box(-1.0, 1.0, shape=(n_cont,), dtype=np.float32),
            )
        )

    def check_mode(self, mode: str) -> None:
        if mode not in self.modes:
            raise ValueError(f"action_mode {mode!r} is not offered; choose one of {self.modes}")

    # ------------------------------------------------------- flat <-> fields
    def split(self, flat: np.ndarray) -> Decision:
        """Flat physical vectors ``[N, dim]`` to named arrays ``{name: [N, *shape]}``.

        Views of ``flat``: a scalar field is one column, a vector field a slice of
        columns (both already of the field's shape), only other shapes need a reshape.
        """
        n = flat.shape[0]
        return {
            name: flat[:, cols] if shape is None else flat[:, cols].reshape((n, *shape))
            for name, cols, shape in self._views
        }

    def join(self, decision: Decision) -> np.ndarray:
        """Named arrays with a batch axis to flat physical vectors ``[N, dim]``."""
        missing = [f.name for f in self.fields if f.name not in decision]
        if missing:
            raise ValueError(f"decision lacks field(s) {missing}")
        parts = []
        for f in self.fields:
            arr = np.asarray(decision[f.name], dtype=np.float64)
            parts.append(arr.reshape(arr.shape[0] if arr.ndim > len(f.shape) else 1, f.size))
        return np.concatenate(parts, axis=1)

    # ------------------------------------------------------ normalized <-> flat
    def _from_unit(self, unit: np.ndarray) -> np.ndarray:
        """Normalized values in [-1, 1] (continuous/integer entries) to physical values."""
        flat = self._low_row + (unit + _ONE) * self._half_span_row
        # np.rint is np.round(x) (half to even) without its Python wrapper; on a slice of
        # columns both ufuncs write in place, an index array needs the copy back.
        integer, binary = self._integer, self._binary
        if isinstance(integer, slice):
            np.rint(flat[:, integer], out=flat[:, integer])
        elif integer is not None:
            flat[:, integer] = np.rint(flat[:, integer])
        if isinstance(binary, slice):
            # 1.0 where the entry is > 0, else 0.0. On a batch of one np.heaviside (x > 0: 1,
            # x == 0: the 0 given, x < 0: 0) writes the floats at half the cost of np.greater,
            # which pays for a bool -> float cast; the vectorized comparison wins on batches.
            if unit.shape[0] == 1:
                np.heaviside(unit[:, binary], _ZERO, out=flat[:, binary])
            else:
                np.greater(unit[:, binary], _ZERO, out=flat[:, binary])
        elif binary is not None:
            flat[:, binary] = unit[:, binary] > _ZERO
        return flat

    def _to_unit(self, flat: np.ndarray) -> np.ndarray:
        span = np.where(self._high > self._low, self._high - self._low, 1.0)
        unit = 2.0 * (flat - self._low) / span - 1.0
        binary = self._kinds == "binary"
        unit[:, binary] = np.where(flat[:, binary] > 0.5, 1.0, -1.0)
        return unit

    def decode_batch(self, actions: np.ndarray | tuple, mode: ActionMode) -> Decision:
        """Valid (already clipped) batched actions to the physical decision."""
        if mode == "box":
            flat = self._from_unit(np.asarray(actions, dtype=np.float64))
        elif mode == "discrete":
            flat = self._low + np.asarray(actions, dtype=np.float64).reshape(-1, 1)
        else:
            binary_part, cont_part = actions
            unit = np.empty((np.asarray(cont_part).shape[0], self.dim))
            unit[:, self._binary] = np.where(np.asarray(binary_part) > 0, 1.0, -1.0)
            if self._not_binary is not None:
                unit[:, self._not_binary] = cont_part
            flat = self._from_unit(unit)
        return self.split(flat)

    def encode_batch(self, decision: Decision, mode: ActionMode) -> np.ndarray | tuple:
        """Physical decisions (with batch axis) to actions of ``mode``."""
        flat = np.clip(self.join(decision), self._low, self._high)
        if mode == "discrete":
            return np.round(flat[:, 0] - self._low[0]).astype(np.int64)
        unit = self._to_unit(flat)
        if mode == "box":
            return unit.astype(np.float32)
        is_bin = self._kinds == "binary"
        return (unit[:, is_bin] > 0).astype(np.int8), unit[:, ~is_bin].astype(np.float32)

    # -------------------------------------------------- validation and clipping
    def validate_and_clip(
        self, actions: np.ndarray | tuple, mode: ActionMode, batch: int, problem: str
    ) -> tuple[np.ndarray | tuple, np.ndarray]:
        """Check shape and finiteness, then clip into the action space.

        Returns the clipped actions and, per batch entry, the clipped amount
        (sum of absolute distances moved; for ``discrete``, the number of units).

        Raises:
            ValueError: NaN/inf entries or a wrong shape, naming ``problem`` and
                the offending entry.
        """
        if mode == "hybrid":
            if not isinstance(actions, tuple | list) or len(actions) != 2:
                raise ValueError(f"{problem}: a hybrid action is a pair (binary, continuous)")
            n_bin = self._n_binary
            binary = _as_batch(actions[0], (n_bin,), batch, problem, "binary part")
            cont = _as_batch(actions[1], (self.dim - n_bin,), batch, problem, "continuous part")
            # minimum(high, maximum(low, x)) is np.clip to the bit (signed zeros included)
            # without np.clip's Python-level overhead.
            clipped_bin = np.minimum(1.0, np.maximum(0.0, np.round(binary)))
            clipped_cont = np.minimum(1.0, np.maximum(-1.0, cont))
            excess = np.abs(cont - clipped_cont).sum(axis=1) + np.abs(binary - clipped_bin).sum(
                axis=1
            )
            return (clipped_bin.astype(np.int8), clipped_cont), _capped(excess)
        if mode == "discrete":
            arr = _as_batch(actions, (), batch, problem, "discrete action")
            rounded = np.round(arr)
            clipped = np.minimum(self._n_choices - 1.0, np.maximum(0.0, rounded))
            excess = np.abs(rounded - clipped) + np.abs(arr - rounded)
            return clipped.astype(np.int64), _capped(excess)
        if batch == 1 and isinstance(actions, np.ndarray) and actions.shape == self._box_shape:
            inside = self._inside_box(actions)
            if inside is not None:
                return inside
        arr = _as_batch(actions, (self.dim,), batch, problem, "action", check_finite=False)
        clipped = np.minimum(np.maximum(arr, _MINUS_ONE), _ONE)
        excess = np.add.reduce(np.abs(arr - clipped), axis=1)
        # A NaN/inf entry makes its row's clipped amount NaN/inf: one check on [batch]
        # instead of one on every entry (an overflowing sum only triggers the exact check).
        if not math.isfinite(excess.item(0) if batch == 1 else np.add.reduce(excess)):
            # raises for a NaN/inf entry; finite entries may still overflow the sum
            _check_finite(arr, batch, problem, "action")
        return clipped, _capped(excess)

    def _inside_box(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Fast path of the single env: a real ``[dim]`` action already within ``[-1, 1]``.

        Clipping leaves it unchanged and charges nothing, so the result is the general
        path's to the bit: the action as float64 ``[1, dim]`` and a clipped amount of 0.
        Python's ``min``, ``max`` and ``sum`` of a short list cost less than the four array
        operations they replace. ``None`` (the general path then decides) for an entry
        outside ``[-1, 1]``, a NaN (``min``/``max`` may skip one, the sum never does) or a
        non-real dtype.
        """
        if action.dtype.kind not in _REAL_KINDS:
            return None
        values = action.tolist()
        if min(values) >= -1.0 and max(values) <= 1.0 and not math.isnan(sum(values)):
            return action.astype(np.float64).reshape(self._box_row), np.zeros(1)
        return None


def _capped(excess: np.ndarray) -> np.ndarray:
    """``excess`` with every entry at most :data:`MAX_ACTION_EXCESS` (in place)."""
    if excess.size == 1:  # the single env: a scalar test is cheaper than a ufunc call
        if excess.item(0) > MAX_ACTION_EXCESS:
            excess.fill(MAX_ACTION_EXCESS)
        return excess
    return np.minimum(excess, MAX_ACTION_EXCESS, out=excess)


def _field_view(
    field: DecisionField, cols: slice
) -> tuple[str, int | slice, tuple[int, ...] | None]:
    """How :meth:`ActionCodec.split` takes ``field`` out of ``[N, dim]``: its name, a column
    (scalar) or slice of columns (vector), and the shape to reshape to (``None``: no reshape)."""
    if field.shape == ():
        return field.name, cols.start, None
    if len(field.shape) == 1:
        return field.name, cols, None
    return field.name, cols, field.shape


def _indexer(mask: np.ndarray) -> slice | np.ndarray | None:
    """Columns where ``mask`` holds: a slice when contiguous (basic indexing is cheaper
    than fancy indexing on the step path), an index array otherwise, ``None`` when empty."""
    index = np.flatnonzero(mask)
    if index.size == 0:
        return None
    if index[-1] - index[0] + 1 == index.size:
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


def _as_batch(
    value: object,
    shape: tuple[int, ...],
    batch: int,
    problem: str,
    what: str,
    check_finite: bool = True,
) -> np.ndarray:
    """``value`` as a float array ``[batch, *shape]``; a clear error if it is not one.

    ``check_finite=False`` leaves the NaN/inf check to the caller (:func:`_check_finite`).
    """
    arr = _numeric(value, problem, what)
    expected = (batch, *shape)
    if arr.shape != expected:
        if batch == 1 and arr.shape == shape:
            arr = arr.reshape(expected)
        else:
            shown = shape if batch == 1 else expected
            raise ValueError(f"{problem}: {what} has shape {arr.shape}, expected {shown}")
    if check_finite:
        _check_finite(arr, batch, problem, what)
    return arr


def _numeric(value: object, problem: str, what: str) -> np.ndarray:
    """``value`` as float64; strings, ``None``, objects and complex numbers are refused.

    (NumPy would parse ``"0.5"`` and silently drop an imaginary part.)
    """
    if isinstance(value, np.ndarray) and value.dtype.kind in _REAL_KINDS:
        return value.astype(np.float64, copy=False)
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{problem}: {what} is not numeric: {value!r}") from err
    if raw.dtype.kind == "c":
        raise ValueError(f"{problem}: {what} is complex ({value!r}); actions are real numbers")
    if raw.dtype.kind not in _REAL_KINDS:
        raise ValueError(
            f"{problem}: {what} is not numeric: {value!r} ({type(value).__name__}); "
            "give numbers, not strings or None"
        )
    return raw.astype(np.float64, copy=False)


def _check_finite(arr: np.ndarray, batch: int, problem: str, what: str) -> None:
    """Raise ``ValueError`` naming the first NaN/inf entry of ``arr`` ``[batch, ...]``."""
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        index = tuple(int(i) for i in (bad[1:] if batch == 1 else bad))
        raise ValueError(f"{problem}: {what} entry {index} is {arr[tuple(bad)]} (must be finite)")

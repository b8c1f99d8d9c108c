"""Blending instances: the named H62 default, the seeded orthogonal-design generator, YAML I/O.

The generator follows Section 4.1.1: ``N`` elements and ``M`` materials (scales
5E24M, 10E48M, 15E60M, 20E100M), scrap materials whose coefficient of variation
``CV_i`` is drawn from the Table 2 interval of their uncertainty level, prices
from Eq. 32, and zero-variance pure-element materials so that a feasible blend
always exists. Everything the paper leaves open is documented in
``docs/problems/copper_blending.md``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import yaml

from stagewise.problems.copper_blending.config import CopperInstance

DATA_DIR = Path(__file__).parent / "data"
NAMED = {"H62": DATA_DIR / "h62.yaml"}

# Table 2: CV interval of each uncertainty level.
CV_INTERVALS = {"L": (0.005, 0.05), "M": (0.05, 0.1), "H": (0.1, 0.2)}
# The four mixes (F_L, F_M, F_H) of Section 4.1.2, by short name.
MIXES = {"LM": ("L", "M"), "LH": ("L", "H"), "MH": ("M", "H"), "LMH": ("L", "M", "H")}
SCALES = ((5, 24), (10, 48), (15, 60), (20, 100))
# Eq. 32 parameters.
K1, K2 = 1000.0, 1.5
SYMBOLS = (
    "Cu Zn Pb Fe Sn Al Ni Mn Si P As Sb Bi Cd Cr Co Mg Te Se S".split()  # noqa: SIM905
)
GENERATED = re.compile(r"^(\d+)E(\d+)M-(LM|LH|MH|LMH)-(\d+)$")

# Economic defaults shared by the generated instances (reasons in the docs page).
DEFAULT_ECONOMICS = {
    "W": 10.0,
    "T": 4,
    "C_e": 50.0,
    "C_e_star": 20.0,
    "C_f": 300.0,
    "C_v": 200_000.0,
    "alpha_star": 0.95,
}


def eq32_price(cv: float) -> float:
    """Unit price of a material with mean coefficient of variation ``cv`` (Eq. 32), cu/t."""
    return K1 / math.log2(cv + K2)


# --------------------------------------------------------------------- YAML I/O
def save_instance(instance: CopperInstance, path: str | Path) -> Path:
    """Write ``instance`` as YAML (floats written exactly, so it loads back identically)."""
    path = Path(path)
    path.write_text(
        yaml.safe_dump(instance.model_dump(), sort_keys=False, default_flow_style=None),
        encoding="utf-8",
    )
    return path


def load_instance(name_or_path: str | Path) -> CopperInstance:
    """A named instance (``"H62"``, ``"20E100M-LH-0"``) or one read from a YAML file.

    Raises:
        ValueError: unknown name, missing or unparsable file, or invalid data.
    """
    key = str(name_or_path).strip()
    if key in NAMED:
        return _read_yaml(NAMED[key])
    match = GENERATED.match(key)
    if match:
        n, m, mix, k = match.groups()
        return generate_instance(int(n), int(m), mix, int(k))
    path = Path(key)
    if path.suffix in {".yml", ".yaml"}:
        return _read_yaml(path)
    raise ValueError(
        f"unknown copper-blending instance {key!r}: give 'H62', a generated name "
        "'<N>E<M>M-<LM|LH|MH|LMH>-<k>' (e.g. '20E100M-LH-0') or a .yaml path"
    )


def _read_yaml(path: Path) -> CopperInstance:
    if not path.is_file():
        raise ValueError(f"instance file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ValueError(f"cannot parse instance file {path}: {err}") from err
    if not isinstance(data, dict):
        raise ValueError(f"instance file {path} must hold a mapping")
    return CopperInstance.model_validate(data)


# -------------------------------------------------------------------- generator
def orthogonal_design(repeats: int = 1) -> list[str]:
    """Names of the 4 scales x 4 mixes x ``repeats`` instances of Section 4.1.2."""
    return [f"{n}E{m}M-{mix}-{k}" for n, m in SCALES for mix in MIXES for k in range(repeats)]


def generate_instance(
    n_elements: int, n_materials: int, mix: str, seed: int, name: str | None = None
) -> CopperInstance:
    """A brass-like instance with ``n_elements`` elements and ``n_materials`` materials.

    Elements: Cu (base), Zn (balance), then alternately a minor alloying
    element (lower bound > 0) and an impurity (lower bound 0). One pure,
    zero-variance material per alloying element; the rest are scrap whose
    uncertainty levels cycle through ``mix`` (``"LM"``, ``"LH"``, ``"MH"``, ``"LMH"``).
    A pure function of its arguments.
    """
    if mix not in MIXES:
        raise ValueError(f"mix must be one of {sorted(MIXES)}, got {mix!r}")
    if not 2 <= n_elements <= len(SYMBOLS):
        raise ValueError(f"n_elements must be in [2, {len(SYMBOLS)}], got {n_elements}")
    alloying = [j for j in range(n_elements) if j < 2 or j % 2 == 0]
    if n_materials < len(alloying) + 2:
        raise ValueError(
            f"n_materials={n_materials} leaves fewer than 2 scrap materials next to "
            f"{len(alloying)} pure ones"
        )
    mix_code = list(MIXES).index(mix)
    rng = np.random.default_rng([n_elements, n_materials, mix_code, seed])
    center, lower, upper = _spec(rng, n_elements, alloying)
    n_scrap = n_materials - len(alloying)
    levels = [MIXES[mix][k % len(MIXES[mix])] for k in range(n_scrap)]
    rng.shuffle(levels)
    mean, std, price = [], [], []
    for level in levels:
        row = _scrap_mean(rng, center, upper, alloying)
        cv = rng.uniform(*CV_INTERVALS[level])
        spread = rng.uniform(0.5, 1.5, n_elements)
        mean.append(row)
        std.append(cv * row * spread / spread.mean())
        price.append(eq32_price(cv))
    for j in alloying:
        mean.append(np.eye(n_elements)[j])
        std.append(np.zeros(n_elements))
        price.append(eq32_price(0.0))
    W = DEFAULT_ECONOMICS["W"]
    inventory = [*(W * rng.uniform(0.1, 0.4, n_scrap)), *([W] * len(alloying))]
    symbols = list(SYMBOLS[:n_elements])
    return CopperInstance(
        name=name or f"{n_elements}E{n_materials}M-{mix}-{seed}",
        elements=symbols,
        lower=_floats(lower),
        upper=_floats(upper),
        materials=[f"scrap{k + 1:03d}_{lvl}" for k, lvl in enumerate(levels)]
        + [f"pure_{symbols[j]}" for j in alloying],
        level=[*levels, *(["pure"] * len(alloying))],
        mean=[_floats(r) for r in mean],
        std=[_floats(r) for r in std],
        price=_floats(price),
        inventory=_floats(inventory),
        **DEFAULT_ECONOMICS,
    )


def _spec(
    rng: np.random.Generator, n: int, alloying: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spec centre, L and U: alloying centres sum to 1, so pure metals can hit the spec."""
    center, half = np.zeros(n), np.zeros(n)
    center[0], half[0] = rng.uniform(0.58, 0.66), 0.015
    for j in alloying[2:]:
        center[j] = rng.uniform(0.004, 0.02)
        half[j] = 0.3 * center[j]
    center[1] = 1.0 - center[0] - center[alloying[2:]].sum()
    half[1] = 0.015
    lower, upper = center - half, center + half
    for j in range(2, n):
        if j not in alloying:
            upper[j] = rng.uniform(0.001, 0.005)
            center[j], half[j] = upper[j] / 2, upper[j] / 2
    return center, np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)


def _scrap_mean(
    rng: np.random.Generator, center: np.ndarray, upper: np.ndarray, alloying: list[int]
) -> np.ndarray:
    """Mean composition of a scrap: near the spec, off it in either direction."""
    n = center.size
    row = np.zeros(n)
    row[0] = center[0] + rng.uniform(-0.06, 0.06)
    for j in range(2, n):
        row[j] = (
            center[j] * rng.uniform(0.3, 1.7) if j in alloying else upper[j] * rng.uniform(0.2, 1.6)
        )
    unmonitored = rng.uniform(0.0, 0.01)
    row[1] = 1.0 - row[0] - row[2:].sum() - unmonitored
    return row


def _floats(values: np.ndarray | list[float]) -> list[float]:
    """Plain Python floats, rounded to 12 significant digits for readable YAML."""
    return [float(f"{float(v):.12g}") for v in values]


# -------------------------------------------------------------------- economics
# Named economics presets: changes applied to an instance by :func:`apply_economics`.
# "default" leaves the instance as generated (the economic defaults above).
ECONOMICS: dict[str, dict[str, float]] = {"default": {}}
ECONOMICS_KEYS = ("C_f", "C_e_star", "C_v", "W", "T", "spec_scale", "cv_scale", "inventory_scale")


def apply_economics(instance: CopperInstance, **changes: float) -> CopperInstance:
    """``instance`` with some of the economics the paper leaves open changed.

    Keys: ``C_f``, ``C_e_star``, ``C_v``, ``T`` (replaced); ``W`` (replaced, every
    inventory scaled with it so the inventory-to-batch ratios stay; ``C_f`` and ``C_v``
    stay per stage and per unit fraction, so a larger batch has a smaller penalty and
    fixed cost per tonne); ``spec_scale`` (every spec
    half-width times this, about the centre; an impurity cap ``U`` times it);
    ``cv_scale`` (every scrap's ``sigma`` times this, each material's CV capped at the
    upper end of its Table 2 level interval); ``inventory_scale`` (scrap inventories
    times this; pure metals keep ``W``).

    Raises:
        ValueError: an unknown key.
    """
    unknown = sorted(set(changes) - set(ECONOMICS_KEYS))
    if unknown:
        raise ValueError(f"unknown economics key(s) {unknown}; use {', '.join(ECONOMICS_KEYS)}")
    data = instance.model_dump()
    for key in ("C_f", "C_e_star", "C_v"):
        if key in changes:
            data[key] = float(changes[key])
    if "T" in changes:
        data["T"] = int(changes["T"])
    a = instance.arrays()
    if "spec_scale" in changes:
        s = float(changes["spec_scale"])
        impurity = a["lower"] <= 0.0
        center = 0.5 * (a["lower"] + a["upper"])
        half = 0.5 * (a["upper"] - a["lower"])
        lower = np.where(impurity, 0.0, center - s * half)
        upper = np.where(impurity, s * a["upper"], center + s * half)
        data["lower"], data["upper"] = _floats(np.clip(lower, 0, 1)), _floats(np.clip(upper, 0, 1))
    if "cv_scale" in changes:
        s = float(changes["cv_scale"])
        std, mean = a["std"], a["mean"]
        for i, level in enumerate(instance.level):
            if level == "pure":
                continue
            monitored = mean[i] > 0.0
            cv = float(np.mean(std[i, monitored] / mean[i, monitored])) if monitored.any() else 0.0
            cap = CV_INTERVALS[level][1] / cv if cv > 0.0 else 1.0
            std[i] = std[i] * min(s, cap)
        data["std"] = [_floats(r) for r in std]
    inventory = a["inventory"]
    if "inventory_scale" in changes:
        s = float(changes["inventory_scale"])
        inventory = np.where(np.asarray(instance.level) == "pure", inventory, s * inventory)
    if "W" in changes:
        data["W"] = float(changes["W"])
        inventory = inventory * data["W"] / instance.W
    data["inventory"] = _floats(inventory)
    return CopperInstance.model_validate(data)


def economics_preset(name: str) -> dict[str, float]:
    """The changes of a named economics preset.

    Raises:
        ValueError: unknown preset name.
    """
    if name not in ECONOMICS:
        raise ValueError(f"unknown economics preset {name!r}; choose one of {sorted(ECONOMICS)}")
    return dict(ECONOMICS[name])

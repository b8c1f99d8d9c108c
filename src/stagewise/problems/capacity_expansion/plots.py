"""Policy maps of the capacity-expansion DP (the kind of the paper's Figures 2-6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap

from stagewise.core.config import load_config
from stagewise.core.solve import Solution
from stagewise.problems.capacity_expansion.config import CapacityExpansionConfig

SPREAD_SD = 3.0
RESOLUTION = 241


def plot_policy_maps(solution: Solution, config: Any, out_dir: str | Path) -> list[Path]:
    """Save the optimal decision ``x_t`` as a function of the state, one PNG per stage.

    Eq. 8: ``x_t`` against ``p_t``, one line per installed capacity ``C_{t-1}``.
    Eq. 10: ``x_t`` over (``d_t``, ``p_t``), one panel per ``C_{t-1} < K``.
    The ranges are the stage's mean log-price (log-demand) plus or minus 3
    standard deviations. At the last stage the analytic boundary of adding a
    first unit, ``u p_T (min(d_T, c_p (C+1)) - min(d_T, c_p C)) = c_om + c_inv``,
    is drawn dashed. Returns the written paths.
    """
    cfg = load_config(CapacityExpansionConfig, config)
    policy = solution.policy
    if policy is None or not hasattr(policy, "decide"):
        raise ValueError("plot_policy_maps needs a solution with a DP policy (solution.policy)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in range(1, cfg.T + 1):
        path = out / f"policy_stage{t}.png"
        if cfg.uncertainty == "price":
            fig = _price_only_figure(policy, cfg, t)
        else:
            fig = _price_demand_figure(policy, cfg, t)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def _axis(start: float, mu: float, sigma: float, t: int) -> np.ndarray:
    spread = SPREAD_SD * max(sigma * np.sqrt(max(t - 1, 1)), 0.02)
    center = np.log(start) + (t - 1) * mu
    return np.exp(np.linspace(center - spread, center + spread, RESOLUTION))


def _last_stage_boundary(cfg: CapacityExpansionConfig, demand: np.ndarray, installed: int):
    gain = np.minimum(demand, cfg.c_p * (installed + 1)) - np.minimum(demand, cfg.c_p * installed)
    with np.errstate(divide="ignore"):
        return np.where(gain > 0, (cfg.c_om + cfg.c_inv) / (cfg.u * gain), np.nan)


def _price_only_figure(policy: Any, cfg: CapacityExpansionConfig, t: int) -> plt.Figure:
    prices = _axis(cfg.p1, cfg.mu1, cfg.sigma1, t)
    fig, ax = plt.subplots(figsize=(6, 4))
    for installed in range(cfg.K):
        units = policy.decide(
            t, prices, np.full(prices.size, np.inf), np.full(prices.size, installed)
        )
        ax.step(prices, units, where="post", label=f"installed C = {installed}")
    if t == cfg.T:
        ax.axvline((cfg.c_om + cfg.c_inv) / cfg.u, color="k", ls="--", lw=1, label="(c_om+c_inv)/u")
    ax.set_xlabel(f"price p_{t}")
    ax.set_ylabel(f"optimal units added x_{t}")
    ax.set_yticks(range(cfg.K + 1))
    ax.set_title(f"Eq. 8, T={cfg.T}, K={cfg.K}: decision at stage {t}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _price_demand_figure(policy: Any, cfg: CapacityExpansionConfig, t: int) -> plt.Figure:
    prices = _axis(cfg.p1, cfg.mu1, cfg.sigma1, t)
    demands = _axis(cfg.d1, cfg.mu2, cfg.sigma2, t)
    grid_d, grid_p = np.meshgrid(demands, prices)
    cmap = ListedColormap(plt.cm.viridis(np.linspace(0, 1, cfg.K + 1)))
    norm = BoundaryNorm(np.arange(cfg.K + 2) - 0.5, cfg.K + 1)
    fig, axes = plt.subplots(
        1, cfg.K, figsize=(4.2 * cfg.K + 1, 3.8), squeeze=False, layout="constrained"
    )
    mesh = None
    for installed, ax in enumerate(axes[0]):
        units = policy.decide(
            t, grid_p.ravel(), grid_d.ravel(), np.full(grid_p.size, installed)
        ).reshape(grid_p.shape)
        mesh = ax.pcolormesh(demands, prices, units, cmap=cmap, norm=norm, shading="auto")
        if t == cfg.T:
            ax.plot(demands, _last_stage_boundary(cfg, demands, installed), "w--", lw=1)
            ax.set_ylim(prices[0], prices[-1])
        ax.set_xlabel(f"demand d_{t}")
        ax.set_ylabel(f"price p_{t}")
        ax.set_title(f"stage {t}, installed C = {installed}", fontsize=10)
    fig.colorbar(mesh, ax=axes[0].tolist(), ticks=range(cfg.K + 1), label=f"units added x_{t}")
    fig.suptitle(f"Eq. 10, T={cfg.T}, K={cfg.K}: optimal decision at stage {t}")
    return fig

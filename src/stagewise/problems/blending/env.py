"""Multiperiod blending, the pooling problem (SafeOR-Gym BlendingEnv, A.5), batched."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from stagewise.core.env import ConstrainedEnv, Dynamics, State, Transition, as_operand
from stagewise.core.forecast import WindowTable, window_batched
from stagewise.core.spaces import ActionCodec, Decision, DecisionField
from stagewise.problems.blending.config import BlendingConfig

ZERO, ONE = as_operand(0.0), as_operand(1.0)


def incidence(arcs: list[tuple[str, str]], names: list[str], end: int) -> np.ndarray:
    """``[arcs, names]``: 1 where end ``end`` (0: tail, 1: head) of the arc is that name."""
    out = np.zeros((len(arcs), len(names)))
    for a, arc in enumerate(arcs):
        out[a, names.index(arc[end])] = 1.0
    return out


class BlendingDynamics(Dynamics):
    """Batched transition of A.5.5 with the costs of A.5.6 and the reward of A.5.7.

    State (physical): periods done ``t``; inventories of the source tanks ``I_s``
    ``[S]``, blenders ``I_j`` ``[J]`` and product tanks ``I_p`` ``[P]``; blender
    properties ``C`` ``[J, Q]``.
    """

    cost_families = ("source_bound", "blender_bound", "product_bound", "in_out", "property")
    reward_term_names = ("sales", "purchases", "flows")

    def __init__(self, config: BlendingConfig):
        c = self.config = config
        self.horizon = c.T
        self.strategy = c.illegal_act_handling
        sources, blenders, products = c.sources, c.blenders, c.products
        props = c.properties
        self.source_arcs, self.product_arcs = c.source_arcs, c.product_arcs
        self.sj_from = incidence(self.source_arcs, sources, 0)
        self.sj_to = incidence(self.source_arcs, blenders, 1)
        self.jp_from = incidence(self.product_arcs, blenders, 0)
        self.jp_to = incidence(self.product_arcs, products, 1)
        periods = [str(t) for t in range(c.T)]
        self.tau0 = np.array([[c.tau0[s][t] for s in sources] for t in periods])
        self.delta0 = np.array([[c.delta0[p][t] for p in products] for t in periods])
        self.sigma = np.array([[c.sigma[s][q] for q in props] for s in sources])
        # Spec of what each product arc delivers: [A_jp, Q].
        self.arc_lb = np.array([[c.sigma_lb[p][q] for q in props] for _, p in self.product_arcs])
        self.arc_ub = np.array([[c.sigma_ub[p][q] for q in props] for _, p in self.product_arcs])
        self.bounds = {
            "s": (np.array([c.s_inv_lb[s] for s in sources]), np.array(list(c.s_inv_ub.values()))),
            "j": (np.array([c.b_inv_lb[j] for j in blenders]), np.array(list(c.b_inv_ub.values()))),
            "p": (np.array([c.d_inv_lb[p] for p in products]), np.array(list(c.d_inv_ub.values()))),
        }
        self.sale_price = np.array([c.betaT_d[p] for p in products])
        self.buy_price = np.array([c.betaT_s[s] for s in sources])
        self.flow_max = c.flow_limit
        # Property carried into blender j by the flows of the source arcs: [A_sj, J * Q].
        self.sj_property = (
            self.sj_to[:, :, None] * (self.sj_from @ self.sigma)[:, None, :]
        ).reshape(len(self.source_arcs), -1)
        self.property_scale = np.maximum(self.sigma.max(axis=0), 1e-9)
        self.jp_blender = np.array([blenders.index(j) for j, _ in self.product_arcs], dtype=int)
        self.codec = ActionCodec(
            [
                DecisionField("flow_sj", (len(self.source_arcs),), 0.0, self.flow_max),
                DecisionField("flow_jp", (len(self.product_arcs),), 0.0, self.flow_max),
                DecisionField("buy", (len(sources),), 0.0, 1.0),
                DecisionField("sell", (len(products),), 0.0, 1.0),
            ],
            modes=("box",),
        )
        n_s, n_j, n_p, n_q = len(sources), len(blenders), len(products), len(props)
        k = c.window_len
        size = n_s + n_j + n_p + n_j * n_q + (n_s + n_p) * k + 1
        self.observation_space = spaces.Box(0.0, 1.0, shape=(size,), dtype=np.float32)
        availability = np.concatenate([self.tau0, self.delta0], axis=1)
        self.observed_tail = WindowTable(
            availability, k, pad="zero", transform=lambda w: self._observed_tail(w, n_s)
        )
        self.arc_costs = c.alpha > 0 or c.beta > 0
        # uncertainty="forecast": each episode's availability and demand limits drawn around
        # the published ones ([T, S + P], the observation's scales keep room for the draws).
        self.errors = c.error_model() if c.stochastic else None
        self.published = np.hstack([self.tau0, self.delta0])
        room = 1.0 if self.errors is None else np.exp(3 * np.sqrt(self.errors.variance(10**6)))
        self.series_scale = room * np.concatenate(
            [
                np.full(n_s, max(float(self.tau0.max(initial=0.0)), 1e-9)),
                np.full(n_p, max(float(self.delta0.max(initial=0.0)), 1e-9)),
            ]
        )
        # Availability and demand limit of each period, and a zero row for t = T.
        self.availability = np.vstack([np.hstack([self.tau0, self.delta0]), np.zeros(n_s + n_p)])
        bound = {
            f"{x}_{side}": as_operand(self.bounds[x][i])
            for x in "sjp"
            for i, side in enumerate(("low", "high"))
        }
        self.k = SimpleNamespace(
            **bound,
            sj_from=self.sj_from,
            sj_from_t=np.ascontiguousarray(self.sj_from.T),
            sj_to=self.sj_to,
            jp_from=self.jp_from,
            jp_from_t=np.ascontiguousarray(self.jp_from.T),
            jp_to=self.jp_to,
            sj_property=self.sj_property,
            sale_price=self.sale_price,
            buy_price=self.buy_price,
            tiny=as_operand(1e-300),
            bound_base=as_operand(c.B * c.L0_pen),
            eps=as_operand(c.eps),
            penalty_bound=as_operand(c.B),
            penalty_in_out=as_operand(c.M),
            penalty_property=as_operand(c.Q),
            alpha=as_operand(c.alpha),
            beta=as_operand(c.beta),
            n_sources=n_s,
            inventory_scale=np.concatenate([self.bounds[x][1] for x in "sjp"]),
            property_scale=np.tile(self.property_scale, n_j),
            arc_lb=as_operand((self.arc_lb - c.eps).ravel()),
            arc_ub=as_operand((self.arc_ub + c.eps).ravel()),
            # arc_property[j Q + q, a Q + q] = 1 where arc a leaves blender j: C -> shipped C.
            arc_property=np.kron(self.jp_from.T, np.eye(n_q)),
            arc_repeat=np.kron(np.eye(len(self.product_arcs)), np.ones((1, n_q))),
            ones_arc_property=np.ones(len(self.product_arcs) * n_q),
            ones_blender=np.ones(n_j),
            tank_low=as_operand(np.concatenate([self.bounds[x][0] for x in "sjp"])),
            tank_high=as_operand(np.concatenate([self.bounds[x][1] for x in "sjp"])),
            families=np.repeat(np.eye(3), [n_s, n_j, n_p], axis=0),
            horizon=np.asarray(self.horizon, np.int64),
            one_period=np.ones((), np.int64),
        )

    def _observed_tail(self, windows: np.ndarray, n_sources: int) -> np.ndarray:
        """Windows ``[rows, k, S + P]`` as observation entries: tau0 (source-major, over its
        peak), delta0 (product-major, over its peak), then ``t / T``."""
        rows = len(windows)
        tau = windows[:, :, :n_sources].transpose(0, 2, 1).reshape(rows, -1)
        delta = windows[:, :, n_sources:].transpose(0, 2, 1).reshape(rows, -1)
        tau_scale = max(float(self.tau0.max(initial=0.0)), 1e-9)
        delta_scale = max(float(self.delta0.max(initial=0.0)), 1e-9)
        t = (np.arange(rows) / self.horizon)[:, None]
        return np.concatenate([tau / tau_scale, delta / delta_scale, t], axis=1)

    def initial_state(self, rng: np.random.Generator, n: int) -> State:
        state = {
            "t": np.zeros(n, dtype=np.int64),
            "I_s": np.zeros((n, len(self.config.sources))),
            "I_j": np.zeros((n, len(self.config.blenders))),
            "I_p": np.zeros((n, len(self.config.products))),
            "C": np.zeros((n, len(self.config.blenders), len(self.config.properties))),
        }
        if self.errors is not None:
            shape = (self.published.shape[1],)
            state["log_error"] = self.errors.draw(rng, n, self.horizon, shape)
            state["available"] = self.errors.realise(self.published, state["log_error"])
        return state

    def scenario(self, state: State) -> dict[str, np.ndarray]:
        """The realised ``tau0`` ``[n, T, S]`` and ``delta0`` ``[n, T, P]`` (oracle use)."""
        n_s = self.k.n_sources
        return {"tau0": state["available"][:, :, :n_s], "delta0": state["available"][:, :, n_s:]}

    def forecast(self, state: State) -> np.ndarray:
        """``uncertainty="forecast"``: ``[n, T, S + P]`` availability and demand limits known
        after ``t`` periods: realised before, the forecast mean from the period decided on."""
        assert self.errors is not None
        return self.errors.forecast(self.published, state["log_error"], state["t"])

    def _bound_costs(self, new: np.ndarray) -> np.ndarray:
        """A.5.6 bound costs ``[n, 3]`` (sources, blenders, products): ``lambda_B (lambda_0,B +
        violation)`` summed over the tanks whose new inventory ``[n, S + J + P]`` is outside
        their bounds."""
        k = self.k
        violation = np.maximum(new - k.tank_high, k.tank_low - new)
        # Multiplying by the mask is np.where(mask, cost, 0) at a third of its price; the
        # product with the tank -> family matrix sums each family.
        return ((k.bound_base + k.penalty_bound * violation) * (violation > k.eps)) @ k.families

    def transition(self, state: State, decision: Decision, rng: np.random.Generator) -> Transition:
        k, repair = self.k, self.strategy
        if "available" in state:
            rows = np.arange(state["t"].shape[0])
            available = state["available"][rows, np.minimum(state["t"], k.horizon - 1)]
        else:
            available = self.availability[state["t"]]
        tau_max, delta_max = available[:, : k.n_sources], available[:, k.n_sources :]
        tau, delta = decision["buy"] * tau_max, decision["sell"] * delta_max
        f_sj, f_jp = decision["flow_sj"], decision["flow_jp"]
        I_s, I_j, I_p = state["I_s"], state["I_j"], state["I_p"]
        # 1. Source tanks: a purchase beyond the tank is cut, a draw beyond the stock scaled.
        out_s = f_sj @ k.sj_from
        new_s = I_s + tau - out_s
        s_below = k.s_low - new_s > k.eps
        if repair != "none":
            s_above = new_s - k.s_high > k.eps
            if repair == "prop":
                tau = tau + s_above * (np.minimum(k.s_high + out_s - I_s, tau_max) - tau)
                share = (I_s + tau - k.s_low) / np.maximum(out_s, k.tiny)
                keep = ONE + s_below * (share - ONE)
            else:
                tau = tau * ~s_above
                keep = ~s_below
            f_sj = f_sj * (keep @ k.sj_from_t)
            out_s = f_sj @ k.sj_from
        I_s = np.minimum(np.maximum(I_s + tau - out_s, k.s_low), k.s_high)
        # 2. In-out rule: a blender that receives does not ship in the same period.
        inflow = f_sj @ k.sj_to
        out_j = f_jp @ k.jp_from
        both = (inflow > k.eps) & (out_j > k.eps)
        if repair != "none":
            f_jp = f_jp * (~both @ k.jp_from_t)
            out_j = f_jp @ k.jp_from
        # 3. Blenders: a shipment beyond the stock is scaled (prop) or dropped (disable).
        held = I_j + inflow
        new_j = held - out_j
        j_below = k.j_low - new_j > k.eps
        if repair != "none":
            share = (held - k.j_low) / np.maximum(out_j, k.tiny) if repair == "prop" else ZERO
            f_jp = f_jp * ((ONE + j_below * (share - ONE)) @ k.jp_from_t)
            out_j = f_jp @ k.jp_from
        I_j_next = np.minimum(np.maximum(held - out_j, k.j_low), k.j_high)
        # 4. Product tanks: a sale beyond the stock is cut (prop) or dropped (disable).
        stocked = I_p + f_jp @ k.jp_to
        new_p = stocked - delta
        p_below = k.p_low - new_p > k.eps
        if repair == "prop":
            delta = delta + p_below * (stocked - k.p_low - delta)
        elif repair == "disable":
            delta = delta * ~p_below
        I_p = np.minimum(np.maximum(stocked - delta, k.p_low), k.p_high)
        # 5. Properties (A.5.5, blender property updates): what stays of the old content, at
        # its property, mixed with the inflows at the sources' properties.
        C = state["C"]
        kept = np.maximum(I_j - out_j, ZERO)
        carried = (f_sj @ k.sj_property).reshape(C.shape)
        blend = (C * kept[:, :, None] + carried) / np.maximum(kept + inflow, k.eps)[:, :, None]
        C_next = blend * (I_j_next >= k.eps)[:, :, None]
        # 6. Property cost (A.5.6 C^Q): each (j, q, p) shipped outside the product's spec.
        # Shipments leave at the blender's property before this period's mixing.
        # As flat [n, A_jp * Q] arrays: matrix products with one-hot matrices are cheaper than
        # fancy indexing and boolean reductions over a batch.
        shipped = C.reshape(C.shape[0], -1) @ k.arc_property
        off_spec = (shipped < k.arc_lb) | (shipped > k.arc_ub)
        off_spec_shipped = (off_spec * ((f_jp > k.eps) @ k.arc_repeat)) @ k.ones_arc_property
        bound_costs = self._bound_costs(np.concatenate([new_s, new_j, new_p], axis=1))
        sales = delta @ k.sale_price
        purchases = -(tau @ k.buy_price)
        flows = self._flow_cost(f_sj, f_jp)
        next_state = {
            "t": state["t"] + k.one_period,
            "I_s": I_s,
            "I_j": I_j_next,
            "I_p": I_p,
            "C": C_next,
        }
        if "available" in state:
            next_state["available"] = state["available"]
            next_state["log_error"] = state["log_error"]
        return Transition(
            state=next_state,
            reward=sales + purchases + flows,
            costs={
                "source_bound": bound_costs[:, 0],
                "blender_bound": bound_costs[:, 1],
                "product_bound": bound_costs[:, 2],
                "in_out": k.penalty_in_out * (both @ k.ones_blender),
                "property": k.penalty_property * off_spec_shipped,
            },
            reward_terms={"sales": sales, "purchases": purchases, "flows": flows},
            terminated=next_state["t"] >= k.horizon,
        )

    def _flow_cost(self, f_sj: np.ndarray, f_jp: np.ndarray) -> np.ndarray:
        """A.5.7 pi^flow ``-(alpha Q_bin + beta Q_float)`` (0 without arc costs)."""
        k = self.k
        if not self.arc_costs:
            return np.zeros(f_sj.shape[0])
        used = np.add.reduce(f_sj > k.eps, axis=1) + np.add.reduce(f_jp > k.eps, axis=1)
        total = np.add.reduce(f_sj, axis=1) + np.add.reduce(f_jp, axis=1)
        return -(k.alpha * used + k.beta * total)

    def observe(self, state: State) -> np.ndarray:
        n = state["t"].shape[0]
        inventory = np.concatenate([state["I_s"], state["I_j"], state["I_p"]], axis=1)
        obs = np.concatenate(
            [
                inventory / self.k.inventory_scale,
                state["C"].reshape(n, -1) / self.k.property_scale,
                self.observed_tail(state["t"])
                if self.errors is None
                else self._forecast_tail(state),
            ],
            axis=1,
        )
        return np.minimum(ONE, np.maximum(ZERO, obs)).astype(np.float32)

    def _forecast_tail(self, state: State) -> np.ndarray:
        """``uncertainty="forecast"``: the scaled forecast window (tau0 source-major, delta0
        product-major, 0 beyond ``T``) and ``t / T``."""
        n, n_s = state["t"].shape[0], self.k.n_sources
        ahead = window_batched(
            self.forecast(state) / self.series_scale, state["t"], self.config.window_len
        )
        tau = ahead[:, :, :n_s].transpose(0, 2, 1).reshape(n, -1)
        delta = ahead[:, :, n_s:].transpose(0, 2, 1).reshape(n, -1)
        return np.concatenate([tau, delta, (state["t"] / self.horizon)[:, None]], axis=1)

    def physical_state(self, state: State) -> State:
        n_s = self.k.n_sources
        if self.errors is None:
            available = self.availability[np.minimum(state["t"], self.horizon)]
            return {**state, "tau0": available[:, :n_s], "delta0": available[:, n_s:]}
        public = {k: v for k, v in state.items() if k not in ("available", "log_error")}
        forecast = self.forecast(state)
        padded = np.concatenate([forecast, np.zeros_like(forecast[:, :1])], axis=1)
        now = padded[np.arange(forecast.shape[0]), np.minimum(state["t"], self.horizon)]
        return {
            **public,
            "tau0": now[:, :n_s],
            "delta0": now[:, n_s:],
            "tau0_forecast": forecast[:, :, :n_s],
            "delta0_forecast": forecast[:, :, n_s:],
        }


class BlendingEnv(ConstrainedEnv):
    """Multiperiod blending with property balances (SafeOR-Gym BlendingEnv, A.5).

    **Decision** each period (A.5.4; ``box`` mode, mapped affinely from [-1, 1]): flows
    ``flow_sj`` on the source->blender arcs and ``flow_jp`` on the blender->product
    arcs (``0..F^max``, F^max = total availability, 120 in the case study; the
    published action order), and the fractions ``buy`` of each source's
    availability tau0_st and ``sell`` of each product's demand limit delta0_pt.

    **Dynamics** (A.5.5), in order: source tanks (a purchase overflowing the tank is
    cut, a draw beyond the stock scaled (``prop``) or dropped (``disable``)); the
    in-out rule (a blender that receives ships nothing: its outflows are zeroed
    unless ``none``); blenders (a shipment beyond the stock scaled or dropped);
    product tanks (a sale beyond the stock cut or dropped); every inventory is
    then clipped into its bounds; blender properties mix by volume (bilinear).

    **Costs** (A.5.6, per step): ``source_bound``, ``blender_bound``,
    ``product_bound`` (``B (L0_pen + violation)`` per tank outside its bounds,
    assessed before the repair), ``in_out`` (``M`` per blender receiving and
    shipping), ``property`` (``Q`` per (blender, property, product) shipped
    outside the product's spec), and ``action_range``.

    **Reward** (A.5.7): sales ``beta^d delta`` minus purchases ``beta^s tau`` minus
    ``alpha`` per arc used and ``beta`` per unit of flow.

    **Observation** (float32 in [0, 1]; order fixed: sources, blenders, products
    as in the config): inventories over their upper bounds, properties
    (blender-major) over the largest source property, the availability tau0
    and demand limit delta0 of the next ``window_len`` periods (zero beyond the
    horizon) over their peaks, and ``t / T``.

    **Episode**: ``T`` (6) periods from empty tanks. Deterministic.
    """

    problem_id: ClassVar[str] = "Blending"
    slug: ClassVar[str] = "blending"
    summary: ClassVar[str] = "Multiperiod blending with property balances (SafeOR-Gym A.5)"
    config_model = BlendingConfig

    @classmethod
    def build_dynamics(cls, config: Any) -> BlendingDynamics:
        return BlendingDynamics(config)

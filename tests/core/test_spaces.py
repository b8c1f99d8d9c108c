"""ActionCodec: modes, decoding rules, round trips and validation."""

import numpy as np
import pytest
from gymnasium import spaces

from stagewise.core.spaces import ActionCodec, DecisionField


def mixed_codec() -> ActionCodec:
    return ActionCodec(
        [
            DecisionField("on", (2,), 0, 1, "binary"),
            DecisionField("power", (2,), [0.0, 10.0], [100.0, 50.0]),
            DecisionField("units", (), 0, 4, "integer"),
        ],
        modes=("box", "hybrid"),
    )


def test_box_decoding_maps_affinely_rounds_integers_and_uses_sign_for_binaries() -> None:
    codec = mixed_codec()
    action = np.array([[0.3, -0.2, -1.0, 1.0, 0.1]])
    decision = codec.decode_batch(action, "box")
    assert decision["on"].tolist() == [[1.0, 0.0]]
    assert decision["power"].tolist() == [[0.0, 50.0]]
    assert decision["units"].tolist() == [2.0]  # 0 + 0.55 * 4 = 2.2 -> 2


def test_hybrid_space_splits_binary_and_continuous_parts() -> None:
    codec = mixed_codec()
    space = codec.space("hybrid")
    assert isinstance(space, spaces.Tuple)
    assert space[0].n == 2 and space[1].shape == (3,)
    decision = codec.decode_batch((np.array([[1, 0]]), np.array([[0.0, 0.0, 1.0]])), "hybrid")
    assert decision["on"].tolist() == [[1.0, 0.0]]
    assert decision["power"].tolist() == [[50.0, 30.0]]
    assert decision["units"].tolist() == [4.0]


def test_discrete_mode_needs_a_single_integer_decision() -> None:
    with pytest.raises(ValueError, match="discrete"):
        ActionCodec([DecisionField("x", (2,), 0, 3, "integer")], modes=("box", "discrete"))
    codec = ActionCodec([DecisionField("x", (), 1, 3, "integer")], modes=("discrete",))
    assert codec.space("discrete").n == 3
    assert codec.decode_batch(np.array([2]), "discrete")["x"].tolist() == [3.0]


def test_unoffered_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="not offered"):
        mixed_codec().space("discrete")


def test_encode_inverts_decode_for_physical_decisions() -> None:
    codec = mixed_codec()
    decision = {"on": np.array([[0, 1]]), "power": np.array([[25.0, 30.0]]), "units": np.array([3])}
    for mode in ("box", "hybrid"):
        back = codec.decode_batch(codec.encode_batch(decision, mode), mode)
        for name, value in decision.items():
            assert np.allclose(back[name], value)


def test_validate_clips_and_reports_the_clipped_amount() -> None:
    codec = mixed_codec()
    clipped, excess = codec.validate_and_clip(np.array([2.0, 0, -3.0, 0, 0.5]), "box", 1, "P")
    assert clipped.tolist() == [[1.0, 0.0, -1.0, 0.0, 0.5]]
    assert excess.tolist() == [3.0]


def test_validate_names_problem_and_entry_of_a_nan() -> None:
    codec = mixed_codec()
    with pytest.raises(ValueError, match=r"Plant: action entry \(3,\) is nan"):
        codec.validate_and_clip(np.array([0, 0, 0, np.nan, 0]), "box", 1, "Plant")
    with pytest.raises(ValueError, match=r"shape \(4,\), expected \(5,\)"):
        codec.validate_and_clip(np.zeros(4), "box", 1, "Plant")


def _single_env_actions() -> list[np.ndarray]:
    """Actions of a batch of one: inside the box (every real dtype, signed zeros, the
    bounds themselves) and outside it (the general path clips and charges)."""
    rng = np.random.default_rng(0)
    inside = rng.uniform(-1, 1, (20, 5))
    return [
        *inside.astype(np.float32),
        *inside,
        np.array([-0.0, 0.0, -1.0, 1.0, -0.0]),
        np.array([1e-300, -1e-300, 0.0, -0.0, 5e-324]),
        np.array([-0.0, 0.0, 1.0, -1.0, 0.0]),
        np.array([1, 0, -1, 0, 1], dtype=np.int64),
        np.array([True, False, True, True, False]),
        np.array([0.5, -1.5, 0.0, 2.0, 0.25], dtype=np.float32),
        np.array([0.0, 0.0, 1e300, 0.0, 0.0]),
        np.nextafter(np.ones(5), 2.0),
    ]


def test_single_env_fast_path_is_bitwise_the_general_path() -> None:
    codec = mixed_codec()
    for action in _single_env_actions():
        clipped, excess = codec.validate_and_clip(action, "box", 1, "P")
        # batch 2 and a list always take the general path
        general, general_excess = codec.validate_and_clip(np.stack([action, action]), "box", 2, "P")
        listed, listed_excess = codec.validate_and_clip(action.tolist(), "box", 1, "P")
        for other, other_excess in ((general[:1], general_excess[:1]), (listed, listed_excess)):
            assert clipped.dtype == other.dtype and clipped.shape == other.shape == (1, 5)
            assert clipped.tobytes() == other.tobytes()  # signed zeros included
            assert excess.dtype == other_excess.dtype and excess.tobytes() == other_excess.tobytes()
        decoded, both = codec.decode_batch(clipped, "box"), codec.decode_batch(general, "box")
        assert all(decoded[name].tobytes() == both[name][:1].tobytes() for name in decoded)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("entry", range(5))
def test_a_nan_or_inf_anywhere_in_a_single_action_raises(entry: int, bad: float) -> None:
    # Python's min and max skip a NaN that is not first: the fast path must not.
    action = np.full(5, 0.5, dtype=np.float32)
    action[entry] = bad
    with pytest.raises(ValueError, match=rf"Plant: action entry \({entry},\) is {bad}"):
        mixed_codec().validate_and_clip(action, "box", 1, "Plant")


def test_split_gives_each_field_its_shape_as_views_of_the_flat_vector() -> None:
    codec = ActionCodec(
        [
            DecisionField("scalar", (), 0.0, 1.0),
            DecisionField("vector", (3,), 0.0, 1.0),
            DecisionField("matrix", (2, 2), 0.0, 1.0),
        ]
    )
    flat = np.arange(2 * codec.dim, dtype=float).reshape(2, codec.dim)
    decision = codec.split(flat)
    assert decision["scalar"].shape == (2,) and decision["scalar"].tolist() == [0.0, 8.0]
    assert decision["vector"].tolist() == [[1.0, 2.0, 3.0], [9.0, 10.0, 11.0]]
    assert decision["matrix"].tolist() == [[[4.0, 5.0], [6.0, 7.0]], [[12.0, 13.0], [14.0, 15.0]]]
    assert all(np.shares_memory(value, flat) for value in decision.values())
    assert np.array_equal(codec.join(decision), flat)

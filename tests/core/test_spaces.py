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

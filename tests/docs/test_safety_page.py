"""The Python examples of docs/safety.md run as written."""

from __future__ import annotations

import numpy as np

from stagewise.core.safety import SafetyLayer
from tests.docs.pages import DOCS, code_blocks


def test_the_safety_page_examples_run() -> None:
    blocks = [code for lang, code in code_blocks(DOCS / "safety.md") if lang == "python"]
    assert len(blocks) == 2
    namespace: dict = {}
    for code in blocks:
        exec(compile(code, "docs/safety.md", "exec"), namespace)
    assert namespace["info"]["safety"]["violation"] == 0.0
    layer = SafetyLayer(namespace["step_constraints"](None))
    result = layer.project({"cap": np.array([0.5])}, {"x": np.array([[1.0, 1.0]])})
    assert result.decision["x"].tolist() == [[1.0, -0.5]]

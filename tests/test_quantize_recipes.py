"""The int8 candidate table: 8-bit-weight alternatives are measured exactly where 7-bit weights are the default
(no VNNI), and each row says which it used."""

import numpy as np
import pytest

from rakuten_edge.choices import QuantMode
from rakuten_edge.export import quantize
from rakuten_edge.runtime.engine import open_engine


def _graph(path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.random.default_rng(0).normal(size=(16, 27)).astype(np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["logits"]), helper.make_node("Softmax", ["logits"], ["probs"])]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", 27])],
        [w],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


@pytest.mark.parametrize("seven_bit_machine", [True, False])
def test_eight_bit_candidates_only_where_seven_bit_is_the_default(tmp_path, monkeypatch, seven_bit_machine):
    monkeypatch.setattr(quantize, "reduce_range", lambda: seven_bit_machine)
    _graph(tmp_path / "fp32.onnx")
    feeds = {"x": np.random.default_rng(1).normal(size=(40, 16)).astype(np.float32)}
    probs = open_engine(tmp_path / "fp32.onnx").run(feeds)

    def run_probs(path, invariant):
        return np.concatenate([open_engine(path).run({"x": feeds["x"][i : i + 1]}) for i in range(40)])

    _, table = quantize.choose(
        tmp_path / "fp32.onnx", tmp_path, feeds, feeds, probs.argmax(1), probs, QuantMode.dynamic, run_probs
    )
    rows = {r["recipe"]: r for r in table["candidates"]}
    eight = {"dynamic-qint8-8bit-weights", "dynamic-quint8-8bit-weights"}
    assert (eight <= set(rows)) == seven_bit_machine and (eight & set(rows) == set()) != seven_bit_machine
    assert rows["dynamic-qint8"]["reduce_range"] == seven_bit_machine
    assert all(rows[name]["reduce_range"] is False for name in eight & set(rows))
    assert table["reduce_range"] == rows[table["chosen"]]["reduce_range"]

"""The split engine's cut, on hand-built graphs (no training): the image tower and the rest answer together exactly
as the whole graph does on onnxruntime, and a graph it cannot cut is one EngineError line."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("openvino")
pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from rakuten_edge.runtime.engine import EngineError, EngineOptions, open_engine  # noqa: E402

CLASSES = 3


def _graph(image_ends: int = 1, image_input: bool = True) -> bytes:
    """image (b, 8, 8, 1) -> Conv (a Constant node's kernel) -> Relu -> mean: the tower; tokens -> mean; concat ->
    MatMul -> Softmax. image_ends=2 also feeds the Conv's output to the head; image_input=False names the image
    input otherwise."""
    image = "image" if image_input else "picture"
    rng = np.random.default_rng(0)
    kernel = numpy_helper.from_array(rng.normal(size=(4, 1, 3, 3)).astype(np.float32), "k")
    nodes = [
        # a node of constants that only the tower reads (as a static QDQ graph's DequantizeLinear of a weight)
        helper.make_node("Constant", [], ["k"], value=kernel),
        helper.make_node("Transpose", [image], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "k"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("ReduceMean", ["relu", "axes"], ["img"], keepdims=0),
        helper.make_node("Cast", ["tokens"], ["tok_f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["tok_f", "tok_axes"], ["tok"], keepdims=1),
        helper.make_node("Concat", ["img", "tok"] + (["img_max"] if image_ends == 2 else []), ["f"], axis=1),
        helper.make_node("MatMul", ["f", "w"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    if image_ends == 2:
        nodes.insert(5, helper.make_node("ReduceMax", ["conv", "axes"], ["img_max"], keepdims=0))
    width = 4 + 1 + (4 if image_ends == 2 else 0)
    initializers = [
        numpy_helper.from_array(np.array([2, 3], np.int64), "axes"),
        numpy_helper.from_array(np.array([1], np.int64), "tok_axes"),
        numpy_helper.from_array(0.3 * rng.normal(size=(width, CLASSES)).astype(np.float32), "w"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info(image, TensorProto.FLOAT, ["batch", 8, 8, 1]),
            helper.make_tensor_value_info("tokens", TensorProto.INT32, ["batch", 5]),
        ],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", CLASSES])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]).SerializeToString()


def test_the_two_sides_answer_like_the_whole_graph():
    rng = np.random.default_rng(1)
    feeds = {"image": rng.random((6, 8, 8, 1), np.float32), "tokens": rng.integers(0, 4, (6, 5)).astype(np.int32)}
    whole = open_engine(_graph(), "onnxruntime").run(feeds)
    split = open_engine(_graph(), "split", EngineOptions(precision="f32", threads=1))
    assert split.providers[0].startswith("OpenVINO CPU f32 (image tower) + ")
    assert sorted(t.name for t in split.inputs()) == ["image", "tokens"]
    assert [t.name for t in split.outputs()] == ["probs"]
    got = split.run(feeds)
    assert got.shape == (6, CLASSES) and np.abs(got - whole).max() <= 1e-6  # f32 on both sides


@pytest.mark.parametrize(
    ("graph", "says"),
    [
        (_graph(image_ends=2), "must end in one tensor that only the rest reads; this graph's ends in 2"),
        (_graph(image_input=False), "has no 'image' input"),
        (b"not a graph", "split: cannot read the graph"),
    ],
    ids=["two-ends", "no-image", "corrupt"],
)
def test_a_graph_it_cannot_cut_is_one_line(graph, says):
    with pytest.raises(EngineError, match=says) as caught:
        open_engine(graph, "split", EngineOptions(precision="f32"))
    assert "\n" not in str(caught.value)

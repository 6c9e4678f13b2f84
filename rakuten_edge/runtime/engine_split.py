"""The split adapter: the bundle's graph cut where its image tower ends, the tower on OpenVINO, the rest on onnxruntime.

Why (Intel Xeon with AMX, 2 cores, 2026-12-01; seed-size cnn3, random weights, batch 32): onnxruntime runs the whole
graph at 505-527 items/s, OpenVINO bf16 at 362-370 (its BiLSTMs run step by step, 10x slower than onnxruntime's at
batch 1). The image tower is 72% of onnxruntime's kernel time (Conv 65%, MaxPool 7%; LSTM 22%): alone it runs 753
items/s on onnxruntime (2 threads), 394-403 on OpenVINO f32 and 1,576-1,918 on OpenVINO bf16 (AMX). Cut there, the
graph ran 843 items/s (1.67x onnxruntime), max |dp| 2.8e-5. Each engine runs what it is fastest at; the tune table
decides per CPU and job whether the cut pays (on a CPU without bf16 it is not offered in bf16).

The cut is found, not declared: the tower is every node computed from the image input alone, and its boundary must be
one float tensor (the image features, as in cnn1-3 and ngram). Each side opens through the engine table like any
engine; `onnx` (in the openvino extra) writes the two sub-graphs in memory. Imported only when asked for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from ..tables.text_kinds import IMAGE
from .engine import EngineError, EngineOptions, Feeds, Tensor, open_engine

TOWER_ENGINE = "openvino"  # the image tower: convolutions, bf16 on AMX
REST_ENGINE = "onnxruntime"  # the text branch and the head: onnxruntime's LSTM kernel


def _graph(graph: str | Path | bytes) -> onnx.ModelProto:
    try:
        return onnx.load_model_from_string(graph) if isinstance(graph, bytes) else onnx.load(str(graph))
    except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError, OSError
        raise EngineError(f"split: cannot read the graph: {' '.join(str(exc).split())}"[:300]) from None


def cut(model: onnx.ModelProto) -> tuple[bytes, bytes, str]:
    """(the tower's graph, the rest's graph, the tensor between them), serialised for the two engines."""
    g = model.graph
    nodes = list(g.node)  # indices, not id(): protobuf's wrappers are not stable objects
    constants = {i.name for i in g.initializer}
    inputs = {i.name: i for i in g.input if i.name not in constants}
    if IMAGE not in inputs:
        raise EngineError(f"split: the graph has no {IMAGE!r} input, so no image tower to cut")
    depends = {name: {name} for name in inputs}
    for node in nodes:  # ONNX graphs are topologically sorted
        found = set().union(*(depends.get(x, set()) for x in node.input if x))
        depends.update((out, found) for out in node.output)
    tower = {k for k, node in enumerate(nodes) if depends[node.output[0]] == {IMAGE}}
    image_only = set(tower)
    rest = [k for k in range(len(nodes)) if k not in image_only]
    # Nodes of constants alone (Constant, a static QDQ graph's DequantizeLinear of a weight) go to the side that
    # reads them; the rest keeps them all.
    producer = {out: k for k, node in enumerate(nodes) if not depends[node.output[0]] for out in node.output}
    wanted = [x for k in tower for x in nodes[k].input]
    while wanted:
        k = producer.get(wanted.pop())
        if k is not None and k not in tower:
            tower.add(k)
            wanted += nodes[k].input
    used_by_rest = {x for k in rest for x in nodes[k].input}
    outputs = {o.name for o in g.output}
    boundary = sorted({o for k in image_only for o in nodes[k].output if o in used_by_rest or o in outputs})
    if not image_only or len(boundary) != 1 or IMAGE in used_by_rest:
        raise EngineError(
            f"split: the image tower must end in one tensor that only the rest reads; this graph's ends in "
            f"{len(boundary)}{' (the rest also reads the image)' if IMAGE in used_by_rest else ''}"
        )
    (between,) = boundary
    edge = helper.make_tensor_value_info(between, TensorProto.FLOAT, None)

    def sub(keep: list[int], graph_inputs: list, graph_outputs: list) -> bytes:
        read = {x for k in keep for x in nodes[k].input}
        initializers = [i for i in g.initializer if i.name in read]
        part = helper.make_graph([nodes[k] for k in keep], g.name, graph_inputs, graph_outputs, initializers)
        return helper.make_model(
            part, opset_imports=model.opset_import, ir_version=model.ir_version
        ).SerializeToString()

    others = [inputs[name] for name in inputs if name != IMAGE and name in used_by_rest]
    return sub(sorted(tower), [inputs[IMAGE]], [edge]), sub(rest, [edge, *others], list(g.output)), between


class SplitEngine:
    name = "split"

    def __init__(self, graph: str | Path | bytes, options: EngineOptions):
        tower, rest, self.between = cut(_graph(graph))
        self.tower = open_engine(tower, TOWER_ENGINE, options)  # the precision (f32 | bf16) is the tower's
        self.rest = open_engine(rest, REST_ENGINE, EngineOptions(options.providers, options.threads, options.spin))
        self.providers = [f"{self.tower.providers[0]} (image tower) + {self.rest.providers[0]}"]
        self.note = self.rest.note

    def inputs(self) -> list[Tensor]:
        return self.tower.inputs() + [t for t in self.rest.inputs() if t.name != self.between]

    def outputs(self) -> list[Tensor]:
        return self.rest.outputs()

    def run(self, feeds: Feeds) -> np.ndarray:
        features = self.tower.run({IMAGE: feeds[IMAGE]})
        return self.rest.run({self.between: features, **{k: v for k, v in feeds.items() if k != IMAGE}})

    def close(self) -> dict:
        return {**self.tower.close(), **self.rest.close()}

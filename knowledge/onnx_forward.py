"""The encoder's transformer layers run by onnxruntime instead of numpy, in float32 or int8.

Why: under load the semantic matcher's cost is the forward pass. numpy runs it as dozens of
separate calls a layer, each allocating its result; onnxruntime runs the same graph with fused,
pre-packed kernels in one call that releases the GIL throughout. In float32 it gives numpy's
vectors to 1e-6 for about 60% of the CPU; with int8 weights about a fifth of numpy's CPU, vectors
within 0.01 cosine (`bench/encoder.py`; matching quality in docs/matching.md). The graph is built
in memory from the encoder's own weights (tuned top layers included) with onnx's helpers:
nothing is downloaded and nothing is written. Tokenising, pooling and normalising stay in
`knowledge.embedding`, shared with the numpy path.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from knowledge.embedding import LayerWeights, Vectors

OPSET = 17
"""LayerNormalization is an operator from opset 17 on; older runtimes cannot load the graph."""
INT8_RANGE = 63
"""Weights are quantised to +-63, not +-127: without AVX-512 VNNI, onnxruntime's uint8 x int8
kernels add products in pairs into int16, which 255 * 127 * 2 overflows (its `reduce_range`)."""


def onnx_available() -> bool:
    """Whether both onnx (to build the graph) and onnxruntime (to run it) are installed."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # type: ignore[import-untyped,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


class OnnxForward:
    """BERT's embedding layer and transformer layers as one onnxruntime session.

    `hidden` maps token ids and the padding bias to the last layer's states, what `BertEncoder`
    computes with numpy (to 1e-6 in float32, approximately with `int8` weights). The word
    embedding table (47 MB) is fed to every run as an input, which onnxruntime reads in place,
    instead of being copied into the graph: a copy in the graph, one in its serialised form and
    one in the session cost 130 MB. The session is built on first use (about half a second) so
    an encoder that is only ever tuned, never queried, does not pay for it; `hidden` is
    thread-safe, as onnxruntime sessions are.
    """

    def __init__(
        self,
        embeddings: dict[str, Vectors],
        layers: Sequence[LayerWeights],
        heads: int,
        eps: float,
        threads: int | None,
        int8: bool = False,
    ) -> None:
        self.int8 = int8
        self._embeddings = embeddings
        self._layers = tuple(layers)
        self._heads = heads
        self._eps = eps
        self._threads = threads
        self._session: Any = None
        self._lock = threading.Lock()

    def hidden(self, ids: npt.NDArray[np.int64], bias: Vectors) -> Vectors:
        """(batch, width, hidden) states for (batch, width) ids and a (batch, 1, 1, width) bias."""
        positions = np.arange(ids.shape[1], dtype=np.int64)
        word = self._embeddings["word"]
        feeds = {"ids": ids, "positions": positions, "bias": bias, "word": word}
        out: Vectors = self._ready().run(["hidden"], feeds)[0]
        return out

    def _ready(self) -> Any:
        session = self._session
        if session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._build()
                session = self._session
        return session

    def _build(self) -> Any:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self._threads or 0  # 0: onnxruntime's own default
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: its optimiser's notes are not ours
        model = _graph(self._embeddings, self._layers, self._heads, self._eps, self.int8)
        graph = model.SerializeToString()
        del model  # the proto holds a copy of every weight: let it go before onnxruntime copies
        return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


class _GraphBuilder:
    """Appends nodes with generated output names, so each line of `_graph` reads as the maths."""

    def __init__(self) -> None:
        from onnx import numpy_helper

        self._numpy_helper = numpy_helper
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def const(self, name: str, value: Any) -> str:
        self.initializers.append(self._numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, **attributes: Any) -> str:
        return self.ops(op_type, *inputs, outputs=1, **attributes)[0]

    def ops(self, op_type: str, *inputs: str, outputs: int, **attributes: Any) -> list[str]:
        from onnx import helper

        self._count += 1
        names = [f"t{self._count}.{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, **attributes))
        return names

    def matmul(self, x: str, name: str, weight: Vectors, int8: bool) -> str:
        """x @ weight, in float32 or with int8 weights (one scale per output column) against
        x quantised to uint8 on the fly, which is what onnxruntime's fastest kernels take."""
        if not int8:
            return self.op("MatMul", x, self.const(name, weight))
        from onnx import TensorProto

        scale = np.maximum(np.abs(weight).max(axis=0), 1e-12) / INT8_RANGE
        quantised = np.clip(np.rint(weight / scale), -INT8_RANGE, INT8_RANGE).astype(np.int8)
        w_q = self.const(f"{name}.q", quantised)
        w_zero = self.const(f"{name}.zero", np.zeros(weight.shape[1], dtype=np.int8))
        w_scale = self.const(f"{name}.scale", scale.astype(np.float32))
        x_q, x_scale, x_zero = self.ops("DynamicQuantizeLinear", x, outputs=3)
        product = self.op("MatMulInteger", x_q, w_q, x_zero, w_zero)
        product = self.op("Cast", product, to=TensorProto.FLOAT)
        return self.op("Mul", product, self.op("Mul", x_scale, w_scale))


def _graph(
    embeddings: dict[str, Vectors],
    layers: Sequence[LayerWeights],
    heads: int,
    eps: float,
    int8: bool,
) -> Any:
    """The ONNX model: inputs `ids` (B, T), `positions` (T), `bias` (B, 1, 1, T) and the word
    embedding table `word`."""
    from onnx import TensorProto, helper

    g = _GraphBuilder()
    vocabulary, hidden = (int(n) for n in embeddings["word"].shape)
    head = hidden // heads
    for name, value in embeddings.items():
        if name != "word":  # an input: see `OnnxForward`
            g.const(name, value)
    g.const("scale", np.float32(1.0 / math.sqrt(head)))
    g.const("rsqrt2", np.float32(1.0 / math.sqrt(2.0)))
    g.const("one", np.float32(1.0))
    g.const("half", np.float32(0.5))
    g.const("qkv_shape", np.array([0, 0, 3, heads, head], dtype=np.int64))  # 0: keep that dim
    g.const("rows_shape", np.array([0, 0, hidden], dtype=np.int64))
    for j in range(3):
        g.const(f"pick{j}", np.int64(j))

    words = g.op("Gather", "word", "ids")
    x = g.op("Add", g.op("Add", words, g.op("Gather", "position", "positions")), "type0")
    x = g.op("LayerNormalization", x, "ln_g", "ln_b", axis=-1, epsilon=eps)
    for i, layer in enumerate(layers):
        x = _layer(g, x, f"layer{i}.", layer, eps, int8)
    g.nodes.append(helper.make_node("Identity", [x], ["hidden"]))
    graph = helper.make_graph(
        g.nodes,
        "bert-encoder",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "width"]),
            helper.make_tensor_value_info("positions", TensorProto.INT64, ["width"]),
            helper.make_tensor_value_info("bias", TensorProto.FLOAT, ["batch", 1, 1, "width"]),
            helper.make_tensor_value_info("word", TensorProto.FLOAT, [vocabulary, hidden]),
        ],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "width", hidden])],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # the oldest that opset 17 allows: loads on older onnxruntimes too
    return model


def _layer(g: _GraphBuilder, x: str, prefix: str, p: LayerWeights, eps: float, int8: bool) -> str:
    """One transformer layer, as `BertEncoder._block` computes it with numpy."""

    def linear(x: str, name: str, weight: Vectors, bias: Vectors) -> str:
        product = g.matmul(x, prefix + name, weight, int8)
        return g.op("Add", product, g.const(f"{prefix}{name}.bias", bias))

    def norm(x: str, name: str, gain: Vectors, bias: Vectors) -> str:
        gain_name = g.const(f"{prefix}{name}.gain", gain)
        bias_name = g.const(f"{prefix}{name}.bias", bias)
        return g.op("LayerNormalization", x, gain_name, bias_name, axis=-1, epsilon=eps)

    qkv = g.op("Reshape", linear(x, "qkv", p.qkv_w, p.qkv_b), "qkv_shape")
    qkv = g.op("Transpose", qkv, perm=[2, 0, 3, 1, 4])  # (3, batch, heads, width, head)
    q, k, v = (g.op("Gather", qkv, f"pick{j}", axis=0) for j in range(3))
    scores = g.op("Mul", g.op("MatMul", q, g.op("Transpose", k, perm=[0, 1, 3, 2])), "scale")
    weights = g.op("Softmax", g.op("Add", scores, "bias"), axis=-1)
    context = g.op("Transpose", g.op("MatMul", weights, v), perm=[0, 2, 1, 3])
    context = g.op("Reshape", context, "rows_shape")
    x = norm(g.op("Add", linear(context, "out", p.out_w, p.out_b), x), "ln1", p.ln1_g, p.ln1_b)
    up = linear(x, "up", p.up_w, p.up_b)
    phi = g.op("Add", g.op("Erf", g.op("Mul", up, "rsqrt2")), "one")  # exact GELU, as BERT
    gelu = g.op("Mul", g.op("Mul", up, phi), "half")
    down = g.op("Add", linear(gelu, "down", p.down_w, p.down_b), x)
    return norm(down, "ln2", p.ln2_g, p.ln2_b)

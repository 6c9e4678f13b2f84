"""Training-time 2-D convolutions in bfloat16 (avx512_bf16), float32 everywhere else; same saved model.

Measured here, one convolution forward + backward at cnn3's batch of 64, casts included: 128x128x1 -> 32: 67 -> 46
ms; 64x64x32 -> 64: 109 -> 66 ms; 32x32x64 -> 128: 95 -> 62 ms. Keras' mixed_bfloat16 policy on the whole model
lost 14% instead: its batch norms leave TensorFlow's fused float32 kernel (fused_bn.py) and every activation is cast.
Here only the convolution's operands are rounded to bfloat16 (8 bits of mantissa, float32's range); it accumulates
and returns float32, bias, ReLU, batch norm and the variables stay float32, and the optimizer updates float32
weights. Only the training call is swapped, on the instances (validation, prediction, the BN statistics pass, the
saved `.keras` file and the ONNX export are stock float32), as in fused_bn.py. The demo's cnn3 (6,000 rows, 10
epochs): 0.7433 validation accuracy at 111 samples/s with it, 0.7320 at 92.5 without (1,500 rows: ±0.011).
"""

from __future__ import annotations

import types


def _bf16_convolution_op(self, inputs, kernel):
    import tensorflow as tf

    if not self._get_call_context().training or inputs.dtype != tf.float32:
        return self._stock_convolution_op(inputs, kernel)
    y = tf.nn.convolution(
        tf.cast(inputs, tf.bfloat16),
        tf.cast(kernel, tf.bfloat16),
        strides=list(self.strides),
        padding=self.padding.upper(),
        dilations=list(self.dilation_rate),
        data_format="NHWC",
    )
    return tf.cast(y, tf.float32)


def native_bf16() -> bool:
    """bfloat16 dot products in hardware (without them oneDNN emulates bfloat16, slower than float32)."""
    from ..machine import cpu

    return bool({"avx512_bf16", "amx_bf16", "amx_tile"} & set(cpu()[1]))


def bf16_convolutions(model, enabled: bool | None = None) -> int:
    """Swap the training-time convolution of every channels-last Conv2D of `model` (in place) when this CPU has
    bfloat16 instructions (or `enabled` says so); returns how many."""
    import keras

    if not (native_bf16() if enabled is None else enabled):
        return 0
    swapped = 0
    for layer in model._flatten_layers(include_self=False):
        if (
            isinstance(layer, keras.layers.Conv2D)
            and layer.data_format == "channels_last"
            and layer.groups == 1
            and not getattr(layer, "_stock_convolution_op", None)
        ):
            layer._stock_convolution_op = layer.convolution_op
            layer.convolution_op = types.MethodType(_bf16_convolution_op, layer)
            swapped += 1
    return swapped

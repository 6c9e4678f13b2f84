"""bfloat16 convolutions in training calls only: inference and the saved model stay float32 Keras."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")


def _model():
    from keras import layers

    keras.utils.set_random_seed(0)
    image = keras.Input((16, 16, 1), name="image")
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a")(image)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_b")(x)
    x = layers.Flatten()(x)
    return keras.Model(image, layers.Dense(4, activation="softmax")(x))


def _data():
    rng = np.random.default_rng(2)
    return rng.random((64, 16, 16, 1), dtype=np.float32), rng.integers(0, 4, 64)


def _fit(swap: bool):
    from rakuten_edge.training.bf16_conv import bf16_convolutions

    model, (x, y) = _model(), _data()
    swapped = bf16_convolutions(model, enabled=True) if swap else 0
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False).history["loss"]
    return model, swapped, history


def test_inference_is_stock_float32():
    from rakuten_edge.training.bf16_conv import bf16_convolutions

    model, (x, _) = _model(), _data()
    before = model.predict(x, verbose=0)
    assert bf16_convolutions(model, enabled=True) == 2
    assert bf16_convolutions(model, enabled=True) == 0  # swapped once only
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)


def test_training_rounds_operands_and_stays_close(tmp_path):
    stock, _, want = _fit(False)
    fast, swapped, got = _fit(True)
    assert swapped == 2
    # bfloat16 operands (8-bit mantissa) change the losses a little, never by much.
    assert got != want
    np.testing.assert_allclose(got, want, rtol=0.02)
    path = tmp_path / "m.keras"
    fast.save(path)  # a stock Keras file: loads without custom objects, predicts in float32
    x, _ = _data()
    np.testing.assert_array_equal(keras.saving.load_model(path).predict(x, verbose=0), fast.predict(x, verbose=0))


def test_disabled_without_the_instructions():
    from rakuten_edge.training.bf16_conv import bf16_convolutions

    assert bf16_convolutions(_model(), enabled=False) == 0

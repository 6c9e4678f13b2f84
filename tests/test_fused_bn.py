"""The fused training-time batch norm computes what Keras' own does, and leaves the saved model stock Keras."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")


def _model():
    from keras import layers

    keras.utils.set_random_seed(0)
    image = keras.Input((32, 32, 1), name="image")
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(image)
    x = layers.BatchNormalization(momentum=0.9, name="bn4d")(x)
    x = layers.Flatten()(layers.MaxPooling2D(2)(x))
    x = layers.BatchNormalization(momentum=0.9, name="bn2d")(layers.Dense(16, activation="relu")(x))
    return keras.Model(image, layers.Dense(5, activation="softmax")(x))


def _train(fused: bool):
    from rakuten_edge.training.fused_bn import fuse_batch_norms

    model = _model()
    swapped = fuse_batch_norms(model) if fused else 0
    model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy", jit_compile=False)
    rng = np.random.default_rng(1)
    x, y = rng.random((96, 32, 32, 1), dtype=np.float32), rng.integers(0, 5, 96)
    model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False)
    return model, swapped, x


@pytest.mark.slow  # trains a Keras model
def test_fused_batch_norm_matches_keras(tmp_path):
    from rakuten_edge.training.fused_bn import fuse_batch_norms

    # One training call: the same arithmetic in another order, so float32 rounding only.
    stock, fused = _model(), _model()
    assert fuse_batch_norms(fused) == 1  # the 4-D one; the dense one keeps Keras' call
    for model in (stock, fused):  # from zero, the moving variance after one call is 0.1 x the batch's variance
        bn = model.get_layer("bn4d")
        bn.moving_variance.assign(np.zeros(bn.moving_variance.shape, np.float32))
    # (one thread: 2.6e-4 relative on a near-constant channel; the unbiased-to-biased factor, 1 - 1/32768, is below it)
    x = np.random.default_rng(1).random((32, 32, 32, 1), dtype=np.float32)
    # (softmax outputs: the dense batch norm downstream, in training mode, amplifies rounding to ~1e-4 on one thread)
    np.testing.assert_allclose(fused(x, training=True), stock(x, training=True), atol=1e-3)
    for attr in ("moving_mean", "moving_variance"):
        got, want = getattr(fused.get_layer("bn4d"), attr).numpy(), getattr(stock.get_layer("bn4d"), attr).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-6, err_msg=f"bn4d.{attr} after one call")
    # Two epochs of SGD: the rounding grows with every step, and layers downstream amplify it (6 steps at lr 0.05
    # moved one unit of the dense layer's batch-norm mean by 1.2% on an Intel Xeon with AMX, where the fused layer's
    # own variables still agreed to 2e-3), so after training only the fused layer's variables are compared.
    stock, _, x = _train(False)
    fused, swapped, _ = _train(True)
    assert swapped == 1
    for attr in ("moving_mean", "moving_variance", "gamma", "beta"):
        got, want = getattr(fused.get_layer("bn4d"), attr).numpy(), getattr(stock.get_layer("bn4d"), attr).numpy()
        np.testing.assert_allclose(got, want, rtol=2e-3, atol=1e-4, err_msg=f"bn4d.{attr} after training")
    fused.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")  # no custom object needed
    assert type(loaded.get_layer("bn4d")) is keras.layers.BatchNormalization
    np.testing.assert_allclose(loaded.predict(x, verbose=0), fused.predict(x, verbose=0), atol=1e-6)

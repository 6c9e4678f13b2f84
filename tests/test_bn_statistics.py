"""BatchNorm statistics recomputed after an epoch are the moments each layer's input has in inference mode."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")


def _model():
    from keras import layers

    keras.utils.set_random_seed(0)
    image, other = keras.Input((16, 16, 1), name="image"), keras.Input((6,), name="other")
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(image)
    x = layers.BatchNormalization(name="bn4d")(x)
    x = layers.Dropout(0.5, name="drop4d")(layers.MaxPooling2D(2)(x))
    x = layers.Concatenate()([layers.Flatten()(x), other])
    x = layers.Dropout(0.5, name="drop_concat")(x)  # dropout upstream of a BN: recomputation must switch it off
    x = layers.BatchNormalization(name="bn2d")(layers.Dense(8, activation="relu")(x))
    return keras.Model([image, other], layers.Dense(3, activation="softmax")(x))


def _inputs(n: int):
    rng = np.random.default_rng(3)
    return [rng.random((n, 16, 16, 1), dtype=np.float32), rng.normal(2.0, 3.0, (n, 6)).astype(np.float32)]


def _inference_moments(model, layer, inputs):
    """The reference: the layer's input in inference mode (upstream layers with their current statistics)."""
    a = keras.Model(model.inputs, layer.input).predict(inputs, verbose=0).astype(np.float64)
    axes = tuple(range(a.ndim - 1))
    return a.mean(axes), a.var(axes)


@pytest.mark.parametrize("fused", [False, True])
def test_recompute_gives_each_layer_its_inputs_moments(fused):
    from rakuten_edge.training.bn_statistics import batch_norm_layers, recompute
    from rakuten_edge.training.fused_bn import fuse_batch_norms

    model, inputs = _model(), _inputs(96)
    if fused:
        fuse_batch_norms(model)
    seeds = [v.numpy().copy() for v in model.non_trainable_variables if "seed_generator" in v.path]
    assert recompute(model, inputs, chunk=128) == 2  # one chunk: the pass is exact
    for layer in batch_norm_layers(model):  # upstream first, so each reference sees recomputed upstream layers
        mean, var = _inference_moments(model, layer, inputs)
        np.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-4, atol=1e-5, err_msg=layer.name)
        np.testing.assert_allclose(layer.moving_variance.numpy(), var, rtol=1e-3, atol=1e-5, err_msg=layer.name)
    # What the pass changed for itself is put back, and dropout drew no random numbers.
    assert [layer.momentum for layer in batch_norm_layers(model)] == [0.99, 0.99]
    assert [model.get_layer(n).rate for n in ("drop4d", "drop_concat")] == [0.5, 0.5]
    after = [v.numpy() for v in model.non_trainable_variables if "seed_generator" in v.path]
    assert all(np.array_equal(a, b) for a, b in zip(seeds, after, strict=True))


def test_chunks_average_to_the_samples_moments():
    """In chunks, layers normalize by each chunk's statistics: close to the one-pass answer, not equal."""
    from rakuten_edge.training.bn_statistics import recompute

    one, chunked, inputs = _model(), _model(), _inputs(256)
    recompute(one, inputs, chunk=256)
    recompute(chunked, inputs, chunk=64)
    first = one.get_layer("bn4d")  # nothing upstream of it: chunking changes nothing but rounding
    np.testing.assert_allclose(chunked.get_layer("bn4d").moving_variance.numpy(), first.moving_variance.numpy(), 1e-3)
    got, want = chunked.get_layer("bn2d").moving_mean.numpy(), one.get_layer("bn2d").moving_mean.numpy()
    assert np.abs(got - want).max() < 0.05 * (np.abs(want).max() + 1e-6)


def test_statistics_rows_are_fixed_and_bounded():
    from rakuten_edge.training.bn_statistics import statistics_rows

    a, b = statistics_rows(5000, 1024, 42), statistics_rows(5000, 1024, 42)
    assert np.array_equal(a, b) and len(a) == 1024 and len(set(a.tolist())) == 1024
    assert len(statistics_rows(300, 1024, 42)) == 300
    assert not np.array_equal(a, statistics_rows(5000, 1024, 43))


@pytest.mark.slow  # a torch model in training mode
def test_torch_recompute_gives_the_inputs_moments_with_dropout_off():
    torch = pytest.importorskip("torch")
    from rakuten_edge.training.bn_statistics import recompute_torch

    torch.manual_seed(0)
    head = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Dropout(0.5))
    bn = torch.nn.BatchNorm1d(8, momentum=0.01)
    model = torch.nn.Sequential(head, bn, torch.nn.Linear(8, 3)).train()
    x = torch.randn(96, 6) * 3 + 2
    assert recompute_torch(model, [(x,)]) == 1  # one batch: the cumulative average is that batch's moments
    with torch.no_grad():
        h = head.eval()(x)
    torch.testing.assert_close(bn.running_mean, h.mean(0), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(bn.running_var, h.var(0, unbiased=True), rtol=1e-4, atol=1e-6)
    assert bn.momentum == 0.01 and not model.training  # restored; left in inference mode

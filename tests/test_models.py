"""Builders with the seed preset have the seed's structure; names are the ONNX names."""

import pytest

from rakuten_edge.choices import Framework
from rakuten_edge.errors import UserError
from rakuten_edge.models.registry import REGISTRY, get_model

keras = pytest.importorskip("keras")
from rakuten_edge.models.keras_builders import build_keras_model, layers_of  # noqa: E402

KERAS_KEYS = [k for k, e in REGISTRY.items() if e.framework == Framework.keras and "tokens" in e.inputs]

SEED = {  # key: (tokens, vocabulary, embedding, text layers, units)
    "cnn1": (100, 10_000, 64, "LSTM", 64),
    "cnn2": (300, 10_000, 64, "Conv1D", 128),
    "cnn3": (150, 12_000, 80, "LSTM", 80),
}


def test_registry_holds_the_keras_models():
    assert set(SEED) <= set(REGISTRY)
    with pytest.raises(UserError, match="unknown model"):
        get_model("cnn9")


@pytest.mark.parametrize("key", KERAS_KEYS)
def test_seed_structure(key):
    config = REGISTRY[key].config("seed")
    model = build_keras_model(config)
    tokens, vocab, emb, text_layer, units = SEED[key]
    assert [i.name for i in model.inputs] == ["image", "tokens"]
    assert tuple(model.inputs[0].shape) == (None, 128, 128, 1) and model.inputs[0].dtype == "float32"
    assert tuple(model.inputs[1].shape) == (None, tokens) and model.inputs[1].dtype == "int32"
    assert model.output_names == ["probs"] and tuple(model.outputs[0].shape) == (None, 27)
    embedding = model.get_layer("txt_embedding")
    assert (embedding.input_dim, embedding.output_dim) == (vocab, emb)
    kinds = layers_of(model)
    assert kinds.count("Conv2D") == 3 and kinds.count("MaxPooling2D") == 3
    assert kinds.count("BatchNormalization") == 5  # 3 image blocks, text dense, fusion dense
    if text_layer == "LSTM":
        assert kinds.count("Bidirectional") == 2
        for name in ("txt_bilstm1", "txt_bilstm2"):
            lstm = model.get_layer(name).forward_layer
            assert lstm.units == units and lstm.dropout > 0 and lstm.recurrent_dropout == 0
    else:
        assert kinds.count("Conv1D") == 2 and kinds.count("GlobalMaxPooling1D") == 1
        assert model.get_layer("txt_conv1").filters == units
    assert config.training.batch_size == 64 and config.training.epochs == 10
    assert config.training.schedule == ("cosine" if key == "cnn2" else "plateau")


def test_builder_checks_arguments():
    import dataclasses

    config = REGISTRY["cnn3"].config("tiny")
    bad = dataclasses.replace(config, fusion=dataclasses.replace(config.fusion, dropout=1.5))
    with pytest.raises(ValueError, match="fusion.dropout"):
        build_keras_model(bad)
    with pytest.raises(ValueError, match="fusion.dense"):
        build_keras_model(dataclasses.replace(config, fusion=dataclasses.replace(config.fusion, dense=-1)))
    with pytest.raises(ValueError, match="text.dense"):
        build_keras_model(dataclasses.replace(config, text=dataclasses.replace(config.text, dense=-1)))


def test_linear_fusion_puts_the_features_straight_into_the_softmax():
    import dataclasses

    config = _bags(REGISTRY["ngram"].config("tiny"), 1)  # one bag: `probs` is its softmax layer
    linear_fusion = dataclasses.replace(config.fusion, dense=0)
    linear = build_keras_model(dataclasses.replace(config, fusion=linear_fusion))
    names = [layer.name for layer in linear.layers]
    assert "fusion_dense" not in names and "fusion_bn" not in names
    assert linear.get_layer("probs").kernel.shape == (config.image.dense + config.text.dense, 27)
    hidden = build_keras_model(config).get_layer("fusion_dense")  # the seed's head, unchanged
    assert hidden.units == config.fusion.dense
    # no text head either: the bag's features straight into the softmax, a linear model of the n-grams
    bare = dataclasses.replace(config, text=dataclasses.replace(config.text, dense=0), fusion=linear_fusion)
    model = build_keras_model(bare)
    names, width = [layer.name for layer in model.layers], config.image.dense + config.text.embedding_dim
    assert not {"txt_dense", "txt_bn", "txt_drop", "fusion_dense"} & set(names) and "txt_bag_drop" in names
    assert model.get_layer("probs").kernel.shape == (width, 27)


def test_linear_fusion_in_torch_too():
    import dataclasses

    torch = pytest.importorskip("torch")
    from rakuten_edge.models.torch_fusion import build_torch_model

    class Encoder(torch.nn.Module):  # a [CLS] of zeros, hidden size 8: only the heads are under test
        config = dataclasses.make_dataclass("Config", [("hidden_size", int, 8)])()

        def forward(self, input_ids, attention_mask):
            return dataclasses.make_dataclass("Out", ["last_hidden_state"])(torch.zeros(len(input_ids), 3, 8))

    config = REGISTRY["camembert-ft"].config("tiny")
    side = config.image.size
    for dense, layers in ((0, ["Dropout", "Linear"]), (32, ["Linear", "ReLU", "BatchNorm1d", "Dropout", "Linear"])):
        fusion = dataclasses.replace(config.fusion, dense=dense)
        model = build_torch_model(dataclasses.replace(config, fusion=fusion), Encoder()).eval()
        assert [type(layer).__name__ for layer in model.fusion] == layers
        probs = model(torch.zeros(2, side, side, 1), torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3))
        assert probs.shape == (2, 27)
    # no text head: the [CLS] vector (hidden size 8) goes straight to the fusion
    bare = dataclasses.replace(config, text=dataclasses.replace(config.text, dense=0))
    model = build_torch_model(dataclasses.replace(bare, fusion=dataclasses.replace(config.fusion, dense=0)), Encoder())
    probs = model.eval()(torch.zeros(2, side, side, 1), torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3))
    assert len(model.text) == 0 and model.fusion[-1].in_features == config.image.dense + 8 and probs.shape == (2, 27)


def _bags(config, bags: int):
    import dataclasses

    return dataclasses.replace(config, text=dataclasses.replace(config.text, bags=bags))


def test_bags_are_heads_whose_mean_is_the_answer():
    import numpy as np

    from rakuten_edge.training.heads import accuracy, per_head_loss, training_view

    config = _bags(REGISTRY["ngram"].config("tiny"), 3)
    model = build_keras_model(config)
    names = {layer.name for layer in model.layers}
    assert {"txt_embedding_1", "txt_embedding_3", "probs_1", "probs_3", "heads", "probs"} <= names
    assert "txt_embedding" not in names and model.output.shape == (None, 27)
    rng = np.random.default_rng(0)
    side, n = config.image.size, 16
    ids, weights = rng.integers(0, 4096, (n, 9), np.int32), rng.random((n, 9), np.float32)
    x = [rng.random((n, side, side, 1), np.float32), ids, weights]
    probs = model.predict(x, verbose=0)
    view, loss, metrics = training_view(model)
    heads = view.predict(x, verbose=0)
    assert heads.shape == (n, 3, 27) and loss is per_head_loss and metrics == [accuracy]
    np.testing.assert_allclose(probs, heads.mean(1), atol=1e-6)
    assert np.abs(heads[:, 0] - heads[:, 1]).max() > 1e-4, "the heads should start apart (own weights)"
    # the loss is each head's own cross-entropy, averaged: not the cross-entropy of the mean (one wider model). Heads
    # that disagree (Dirichlet draws; fresh heads are all near uniform, where the two losses nearly meet)
    heads, y = rng.dirichlet(np.full(27, 0.3), (n, 3)).astype(np.float32), rng.integers(0, 27, n)
    own = -np.log(heads[np.arange(n), :, y]).mean(1)
    np.testing.assert_allclose(np.asarray(per_head_loss(y, heads)), own, rtol=1e-4)
    assert (own - -np.log(heads.mean(1)[np.arange(n), y]) > 0.05).mean() > 0.5
    assert np.asarray(accuracy(y, heads)).mean() == pytest.approx((heads.mean(1).argmax(1) == y).mean())


def test_one_bag_models_train_as_themselves_and_other_branches_refuse_bags():
    from rakuten_edge.training.heads import training_view

    model = build_keras_model(_bags(REGISTRY["ngram"].config("tiny"), 1))  # no heads layer, Keras' own loss
    assert training_view(model) == (model, "sparse_categorical_crossentropy", ["accuracy"])
    assert "heads" not in {layer.name for layer in model.layers}
    with pytest.raises(ValueError, match="text.bags must be 1"):
        build_keras_model(_bags(REGISTRY["cnn3"].config("tiny"), 2))
    with pytest.raises(ValueError, match="text.bags must be positive"):
        build_keras_model(_bags(REGISTRY["ngram"].config("tiny"), 0))

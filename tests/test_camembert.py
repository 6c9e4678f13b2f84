"""The CamemBERT models with the tiny offline encoder."""

import json
import subprocess
import sys

import pytest

from rakuten_edge.errors import UserError

torch = pytest.importorskip("torch")
from safetensors.torch import load_file  # noqa: E402


def _source_weights(tiny_camembert):
    return load_file(tiny_camembert / "model.safetensors")


@pytest.mark.slow  # a trained model (tiny preset)
def test_tiny_encoder_loads_like_a_checkpoint(tiny_camembert):
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_camembert)
    model = AutoModel.from_pretrained(tiny_camembert)
    assert tok.is_fast and model.config.vocab_size == len(tok)
    ids = tok(["Piscine hors sol tubulaire"])["input_ids"][0]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id and max(ids) < len(tok)


@pytest.mark.slow  # a trained model (tiny preset)
def test_frozen_encoder_unchanged_finetuned_encoder_changed(trained_runs, tiny_camembert):
    source = _source_weights(tiny_camembert)
    frozen = load_file(trained_runs["camembert"] / "encoder" / "model.safetensors")
    common = [k for k in source if k in frozen]
    assert len(common) > 10 and all(torch.equal(source[k], frozen[k]) for k in common)

    tuned = load_file(trained_runs["camembert-ft"] / "model.safetensors")
    changed = [k for k in source if f"encoder.{k}" in tuned and not torch.equal(source[k], tuned[f"encoder.{k}"])]
    assert len(changed) > len(source) // 2, f"only {len(changed)} encoder tensors changed"


@pytest.mark.slow  # a trained model (tiny preset)
def test_embedding_cache_hit_on_rerun(trained_runs, prepared_dir, tiny_camembert, embedding_cache, tmp_path):
    first = json.loads((trained_runs["camembert"] / "metrics.json").read_text())
    assert first["embedded_texts"] > 0
    from rakuten_edge.training import train

    again = train(
        "camembert",
        data=prepared_dir,
        out=tmp_path,
        preset="tiny",
        epochs=1,
        camembert=str(tiny_camembert),
        cache=embedding_cache,
    )
    assert (
        again["embedded_texts"] == 0
        and again["embedding_cache_hits"] == first["embedding_cache_hits"] + first["embedded_texts"]
    )


# 20.9 s of make test while the trainer's frameworks loaded before the encoder was looked for; 1.2 s since.
def test_missing_model_gives_one_clear_message(prepared_dir, tmp_path, monkeypatch):
    from rakuten_edge.training import train

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="Point the camembert option at a local folder"):
        train("camembert-ft", data=prepared_dir, out=tmp_path, preset="tiny", camembert="camembert-base")
    assert not (tmp_path / "camembert-ft-tiny").exists()
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "rakuten_edge.cli",
            "train",
            "camembert",
            "--preset",
            "tiny",
            "--data",
            str(prepared_dir),
            "--out",
            str(tmp_path),
            "--camembert",
            str(tmp_path / "nowhere"),
        ],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
    )
    assert cli.returncode == 2 and "Traceback" not in cli.stderr and "camembert tiny" in cli.stderr


@pytest.mark.slow  # a trained model (tiny preset)
def test_finetuned_saved_without_pickle(trained_runs):
    run = trained_runs["camembert-ft"]
    assert (run / "model.safetensors").is_file() and (run / "encoder" / "tokenizer.json").is_file()
    assert not list(run.rglob("*.bin")) and not list(run.rglob("*.pt")) and not list(run.rglob("*.pkl"))


@pytest.mark.parametrize("key", ["camembert", "camembert-ft"])
@pytest.mark.slow  # a trained model (tiny preset)
def test_run_records_the_encoder_it_used(trained_runs, tiny_camembert, key):
    config = json.loads((trained_runs[key] / "config.json").read_text())
    assert config["encoder"]["name_or_path"] == str(tiny_camembert) and config["encoder"]["max_length"] == 64


@pytest.mark.slow  # a trained model (tiny preset)
def test_encoder_options_checked(prepared_dir, tiny_camembert, tmp_path):
    from rakuten_edge.training import train

    with pytest.raises(UserError, match="camembert only apply to the models that declare them.*not to cnn3"):
        train("cnn3", data=prepared_dir, out=tmp_path, preset="tiny", camembert=str(tiny_camembert))
    with pytest.raises(UserError, match="max_length 4096"):
        train(
            "camembert-ft",
            data=prepared_dir,
            out=tmp_path,
            preset="tiny",
            camembert=str(tiny_camembert),
            max_length=4096,
        )

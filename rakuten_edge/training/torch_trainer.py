"""`rakuten-edge train camembert-ft`: CamemBERT fine-tuned end to end with the image branch, in PyTorch.

The seed's settings translated: Adam, batch 64, 10 epochs, EarlyStopping(patience 3) and
ReduceLROnPlateau(0.5, 2) on the monitored metric (val_loss by default), best checkpoint. The encoder gets a smaller learning rate
(2e-5) than the freshly initialised head (1e-3): at 1e-3 the pretrained weights are overwritten within a few
hundred steps (catastrophic forgetting) and fine-tuning diverges; 2e-5 is the usual BERT-family range.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from .. import paths
from ..atomic import staged_dir
from ..models.registry import get_model
from ..progress import console, progress_bar
from ..runtime.preprocess import image_tensor
from .artifacts import run_name, write_run_artifacts
from .keras_trainer import load_splits

ENCODER_DIR, WEIGHTS = "encoder", "model.safetensors"


def _batches(n: int, batch: int, rng: np.random.Generator | None):
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return [order[i : i + batch] for i in range(0, n, batch)]


def evaluate(model, pixels, ids, labels, device, batch: int = 128) -> tuple[float, float, np.ndarray]:
    import torch

    model.eval()
    probs = []
    with torch.inference_mode():
        for rows in _batches(len(labels), batch, None):
            probs.append(model(torch.from_numpy(image_tensor(pixels[rows])).to(device),
                               torch.from_numpy(ids["input_ids"][rows]).to(device),
                               torch.from_numpy(ids["attention_mask"][rows]).to(device)).float().cpu().numpy())
    p = np.concatenate(probs)
    loss = float(-np.log(np.clip(p[np.arange(len(labels)), labels], 1e-7, 1)).mean())
    return loss, float((p.argmax(1) == labels).mean()), p


def train(key: str, data: Path = paths.PREPARED, out: Path = paths.RUNS, preset: str = "seed",
          epochs: int | None = None, batch_size: int | None = None, limit: int | None = None,
          seed: int | None = None, camembert: str | None = None, max_length: int | None = None, name: str | None = None) -> dict:
    import torch
    from safetensors.torch import save_file

    from ..models.camembert import check_max_length, load_encoder, text_encoder
    from ..models.torch_fusion import build_torch_model

    entry = get_model(key)
    config = entry.config(preset).override(epochs=epochs, batch_size=batch_size, seed=seed).with_encoder(camembert, max_length)
    t, enc_cfg = config.training, config.encoder
    name_or_path = enc_cfg.name_or_path
    train_split, val_split = load_splits(Path(data), limit, config.image.size)
    torch.manual_seed(t.seed)
    encoder, tokenizer = load_encoder(name_or_path)
    check_max_length(encoder, enc_cfg.max_length)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    # bf16 autocast on a GPU (mixed precision); plain fp32 on the CPU.
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)

    folder = Path(out) / (name or run_name(key, preset))
    with staged_dir(folder) as tmp:
        ids = text_encoder(tokenizer, tmp / ENCODER_DIR, enc_cfg.max_length)
        tokenizer.save_pretrained(tmp / ENCODER_DIR)
        encoder.config.save_pretrained(tmp / ENCODER_DIR)
        x_train, x_val = ids(train_split.texts), ids(val_split.texts)
        model = build_torch_model(config, encoder).to(device)
        encoder_params = list(model.encoder.parameters())
        head_params = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
        optimizer = torch.optim.Adam([{"params": encoder_params, "lr": t.encoder_learning_rate},
                                      {"params": head_params, "lr": t.learning_rate}])
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=t.plateau_factor, patience=t.plateau_patience)
        loss_fn = torch.nn.CrossEntropyLoss()
        rng = np.random.default_rng(t.seed)
        console.print(f"[bold]{key}[/] ({preset}): encoder {name_or_path} (fine-tuned), "
                      f"{sum(p.numel() for p in model.parameters()):,} parameters, {len(train_split):,} train / "
                      f"{len(val_split):,} val rows, {device.type}")
        history: dict[str, list[float]] = {k: [] for k in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")}
        best_loss, best_state, best_epoch, waited, rates = math.inf, None, 0, 0, []
        steps = math.ceil(len(train_split) / t.batch_size)
        start = time.perf_counter()
        with progress_bar() as bar:
            task = bar.add_task("training", total=t.epochs * steps)
            for epoch in range(t.epochs):
                model.train()
                t0, seen, total_loss, correct = time.perf_counter(), 0, 0.0, 0
                for rows in _batches(len(train_split), t.batch_size, rng):
                    if len(rows) < 2:  # BatchNorm cannot train on a single row
                        continue
                    image = torch.from_numpy(image_tensor(train_split.pixels[rows])).to(device)
                    input_ids = torch.from_numpy(x_train["input_ids"][rows]).to(device)
                    mask = torch.from_numpy(x_train["attention_mask"][rows]).to(device)
                    y = torch.from_numpy(train_split.labels[rows].astype(np.int64)).to(device)
                    with autocast:
                        logits = model.logits(image, input_ids, mask)
                        loss = loss_fn(logits.float(), y)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    seen += len(rows)
                    total_loss += float(loss.detach()) * len(rows)
                    correct += int((logits.detach().argmax(1) == y).sum())
                    bar.advance(task)
                rates.append(seen / (time.perf_counter() - t0))
                val_loss, val_acc, _ = evaluate(model, val_split.pixels, x_val, val_split.labels, device)
                for k, v in (("loss", total_loss / seen), ("accuracy", correct / seen), ("val_loss", val_loss),
                             ("val_accuracy", val_acc), ("learning_rate", optimizer.param_groups[1]["lr"])):
                    history[k].append(float(v))
                bar.console.print(f"epoch {epoch + 1}: loss {history['loss'][-1]:.4f} acc {history['accuracy'][-1]:.4f} "
                                  f"val_loss {val_loss:.4f} val_acc {val_acc:.4f} — {rates[-1]:,.0f} samples/s")
                score = val_loss if "loss" in t.monitor else -val_acc  # lower is better either way
                plateau.step(score)
                if score < best_loss:
                    best_loss, best_epoch, waited = score, epoch + 1, 0
                    best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                else:
                    waited += 1
                    if waited >= t.early_stopping_patience:
                        break
        seconds = time.perf_counter() - start
        model.load_state_dict(best_state)
        model = model.cpu()
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp / WEIGHTS)
        _, _, probs = evaluate(model, val_split.pixels, x_val, val_split.labels, torch.device("cpu"))
        note = f"{len(train_split):,} train / {len(val_split):,} val rows of {Path(data).resolve()}, encoder {name_or_path}"
        extra = {"epochs_run": len(history["loss"]), "best_epoch": best_epoch, "train_seconds": round(seconds, 1),
                 "train_samples_per_s": round(float(np.median(rates)), 1), "device": device.type,
                 "parameters": int(sum(p.numel() for p in model.parameters())), "encoder": name_or_path,
                 "data_dir": str(Path(data).resolve())}
        metrics = write_run_artifacts(tmp, config, history, val_split.labels, probs, val_split.productid, note, extra)
    return {**metrics, "run": str(folder)}

"""`rakuten-edge train camembert-ft`: CamemBERT fine-tuned end to end with the image branch, in PyTorch.

The seed's settings translated: Adam, batch 64, 10 epochs, EarlyStopping(patience 3) and
ReduceLROnPlateau(0.5, 2) on the monitored metric (val_loss by default), best checkpoint. The encoder gets a smaller
learning rate (2e-5) than the freshly initialised head (1e-3): at 1e-3 the pretrained weights are overwritten within a
few hundred steps (catastrophic forgetting) and fine-tuning diverges; 2e-5 is the usual BERT-family range.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..progress import console, progress_bar
from ..runtime.preprocess import image_tensor
from .artifacts import write_run_artifacts
from .bn_statistics import recompute_torch, statistics_rows
from .skeleton import Context
from .torch_resume import restore, save_point

HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


def _batches(n: int, batch: int, rng: np.random.Generator | None):
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return [order[i : i + batch] for i in range(0, n, batch)]


def _tensors(pixels, ids, rows, device):
    import torch

    return (
        torch.from_numpy(image_tensor(pixels[rows])).to(device),
        torch.from_numpy(ids["input_ids"][rows]).to(device),
        torch.from_numpy(ids["attention_mask"][rows]).to(device),
    )


def evaluate(model, pixels, ids, labels, device, batch: int = 128) -> tuple[float, float, np.ndarray]:
    import torch

    model.eval()
    with torch.inference_mode():
        p = np.concatenate(
            [
                model(*_tensors(pixels, ids, rows, device)).float().cpu().numpy()
                for rows in _batches(len(labels), batch, None)
            ]
        )
    loss = float(-np.log(np.clip(p[np.arange(len(labels)), labels], 1e-7, 1)).mean())
    return loss, float((p.argmax(1) == labels).mean()), p


@dataclass
class Watch:
    """Best checkpoint and early stopping on the monitored score (lower is better)."""

    patience: int
    best: float = math.inf
    epoch: int = 0
    state: dict | None = None
    waited: int = 0
    rates: list[float] = field(default_factory=list)

    def update(self, score: float, epoch: int, model) -> bool:
        """Record the epoch; True when training should stop."""
        if score < self.best:
            self.best, self.epoch, self.waited = score, epoch, 0
            self.state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            return False
        self.waited += 1
        return self.waited >= self.patience


def _optimizer(model, t):
    import torch

    head = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    optimizer = torch.optim.Adam(
        [
            {"params": list(model.encoder.parameters()), "lr": t.encoder_learning_rate},
            {"params": head, "lr": t.learning_rate},
        ]
    )
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=t.plateau_factor, patience=t.plateau_patience
    )
    return optimizer, plateau


def _epoch(model, optimizer, split, x, batch: int, rng, device, bar, task) -> tuple[float, float, float]:
    """One pass over the training rows; returns (loss, accuracy, samples/s)."""
    import torch

    # bf16 autocast on a GPU (mixed precision); plain fp32 on the CPU.
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    t0, seen, total_loss, correct = time.perf_counter(), 0, 0.0, 0
    for rows in _batches(len(split), batch, rng):
        if len(rows) < 2:  # BatchNorm cannot train on a single row
            continue
        y = torch.from_numpy(split.labels[rows].astype(np.int64)).to(device)
        with autocast:
            logits = model.logits(*_tensors(split.pixels, x, rows, device))
            loss = loss_fn(logits.float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(rows)
        total_loss += float(loss.detach()) * len(rows)
        correct += int((logits.detach().argmax(1) == y).sum())
        bar.advance(task)
    return total_loss / seen, correct / seen, seen / (time.perf_counter() - t0)


def train(ctx: Context) -> dict:
    import torch
    from safetensors.torch import load_file, save_file

    from ..models.camembert import check_max_length, load_encoder, text_encoder
    from ..models.torch_fusion import build_torch_model

    t, settings, run = ctx.config.training, ctx.config.encoder, ctx.run
    torch.manual_seed(t.seed)
    encoder, tokenizer = load_encoder(settings.name_or_path)
    check_max_length(encoder, settings.max_length)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    ids = text_encoder(tokenizer, run.encoder_dir, settings.max_length)
    tokenizer.save_pretrained(run.encoder_dir)
    encoder.config.save_pretrained(run.encoder_dir)
    x_train, x_val = ids(ctx.train.texts), ids(ctx.val.texts)
    model = build_torch_model(ctx.config, encoder).to(device)
    optimizer, plateau = _optimizer(model, t)
    console.print(
        f"[bold]{ctx.entry.key}[/] ({ctx.config.preset}): encoder {settings.name_or_path} (fine-tuned), "
        f"{sum(p.numel() for p in model.parameters()):,} parameters, {ctx.data_note}, {device.type}"
    )
    history: dict[str, list[float]] = {k: [] for k in HISTORY_KEYS}
    watch, first, spent = Watch(t.early_stopping_patience), 1, 0.0
    point = ctx.checkpoints.start(ctx.resume)
    if point:
        first, spent, stopped = restore(point, model, optimizer, plateau, watch, history, ctx.checkpoints)
        first = t.epochs + 1 if stopped else first
    start = time.perf_counter() - spent
    with progress_bar() as bar:
        task = bar.add_task("training", total=(t.epochs + 1 - first) * math.ceil(len(ctx.train) / t.batch_size))
        for epoch in range(first, t.epochs + 1):
            # Each epoch's order depends on (seed, epoch) only, so a resumed run meets the same batches.
            rng = np.random.default_rng([t.seed, epoch])
            loss, acc, rate = _epoch(model, optimizer, ctx.train, x_train, t.batch_size, rng, device, bar, task)
            if t.bn_statistics_rows > 0:  # counted in the epoch's throughput, as the Keras trainer does
                t0, rows = time.perf_counter(), statistics_rows(len(ctx.train), t.bn_statistics_rows, t.seed)
                chunks = _batches(len(rows), 128, None)
                recompute_torch(model, (_tensors(ctx.train.pixels, x_train, rows[c], device) for c in chunks))
                rate = len(ctx.train) / (len(ctx.train) / rate + time.perf_counter() - t0)
            watch.rates.append(rate)
            val_loss, val_acc, _ = evaluate(model, ctx.val.pixels, x_val, ctx.val.labels, device)
            for k, v in zip(HISTORY_KEYS, (loss, acc, val_loss, val_acc, optimizer.param_groups[1]["lr"])):
                history[k].append(float(v))
            bar.console.print(
                f"epoch {epoch}: loss {loss:.4f} acc {acc:.4f} val_loss {val_loss:.4f} "
                f"val_acc {val_acc:.4f} — {rate:,.0f} samples/s"
            )
            score = val_loss if "loss" in t.monitor else -val_acc  # lower is better either way
            plateau.step(score)
            stop = watch.update(score, epoch, model)
            save_point(
                ctx.checkpoints, epoch, stop, time.perf_counter() - start, model, optimizer, plateau, watch, history
            )
            if stop:
                break
    seconds = time.perf_counter() - start
    model.load_state_dict(watch.state or load_file(ctx.checkpoints.best(".safetensors")))
    model = model.cpu()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, run.weights_path)
    _, _, probs = evaluate(model, ctx.val.pixels, x_val, ctx.val.labels, torch.device("cpu"))
    extra = {
        "epochs_run": len(history["loss"]),
        "best_epoch": watch.epoch,
        "resumed_after_epoch": point[0]["epoch"] if point else None,
        "train_seconds": round(seconds, 1),
        "train_samples_per_s": round(float(np.median(watch.rates)), 1),
        "device": device.type,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "encoder": settings.name_or_path,
        "data_dir": str(ctx.data.resolve()),
    }
    note = f"{ctx.data_note}, encoder {settings.name_or_path}"
    return write_run_artifacts(run.folder, ctx.config, history, ctx.val.labels, probs, ctx.val.productid, note, extra)

"""The PyTorch trainer's resume points: weights, optimizer and plateau state, dropout's random state, the
early-stopping watch and the history, saved after every epoch through `Checkpoints`."""

from __future__ import annotations

from pathlib import Path

from .checkpoint import Checkpoints

WEIGHTS, OPTIMIZER = "model.safetensors", "optimizer.pt"


def save_point(
    checkpoints: Checkpoints, epoch: int, stopped: bool, seconds: float, model, optimizer, plateau, watch, history: dict
) -> None:
    import torch
    from safetensors.torch import save_file

    if watch.epoch == epoch:  # a new best: kept on disk, since a kill loses the copy in memory
        best = checkpoints.best(".safetensors")
        save_file({k: v.contiguous() for k, v in watch.state.items()}, best.with_suffix(".tmp"))
        best.with_suffix(".tmp").replace(best)

    def write(folder: Path) -> None:
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, folder / WEIGHTS)
        torch.save(
            {"optimizer": optimizer.state_dict(), "plateau": plateau.state_dict(), "rng": torch.get_rng_state()},
            folder / OPTIMIZER,
        )

    state = {
        "stopped": stopped,
        "seconds": seconds,
        "history": history,
        "watch": {"best": watch.best, "epoch": watch.epoch, "waited": watch.waited, "rates": watch.rates},
    }
    checkpoints.save(epoch, state, write)


def restore(point: tuple[dict, Path], model, optimizer, plateau, watch, history: dict, checkpoints: Checkpoints):
    """Put a saved point back; returns (first epoch to run, seconds already spent, whether training had stopped)."""
    import torch
    from safetensors.torch import load_file

    state, folder = point
    model.load_state_dict(load_file(folder / WEIGHTS))
    saved = torch.load(folder / OPTIMIZER, weights_only=False)
    optimizer.load_state_dict(saved["optimizer"])
    plateau.load_state_dict(saved["plateau"])
    torch.set_rng_state(saved["rng"])
    w = state["watch"]
    watch.best, watch.epoch, watch.waited, watch.rates = w["best"], w["epoch"], w["waited"], list(w["rates"])
    watch.state = load_file(checkpoints.best(".safetensors")) if watch.epoch else None
    for key, values in state["history"].items():
        history[key] = list(values)
    return state["epoch"] + 1, float(state["seconds"]), bool(state["stopped"])

"""`train MODEL --resume`: a run killed with SIGKILL after an epoch goes on from there and ends where an
uninterrupted run ends (same history, same best epoch)."""

import json
import subprocess

import pytest
from test_kills import CLI, _kill_when

pytestmark = pytest.mark.slow  # trains three times


def _base(prepared_dir, runs, key: str) -> list[str]:
    return [*CLI, "train", key, "--preset", "tiny", "--limit", "240", "--epochs", "5"] + [
        "--data",
        str(prepared_dir),
        "--out",
        str(runs),
    ]


@pytest.mark.parametrize("key", ["cnn2", "camembert-ft", "ngram"])  # ngram: a view of its heads (training/heads.py)
def test_killed_run_resumes_to_the_same_best_epoch(prepared_dir, tiny_camembert, tmp_path, key):
    from rakuten_edge.training import train

    encoder = {"camembert": str(tiny_camembert)} if key == "camembert-ft" else {}
    extra = [arg for option, value in encoder.items() for arg in (f"--{option}", value)]
    straight, broken = tmp_path / "straight", tmp_path / "broken"
    # The uninterrupted run in this process (its frameworks are loaded already), the killed one as a command.
    train(key, data=prepared_dir, out=straight, preset="tiny", limit=240, epochs=5, **encoder)
    expected = json.loads((straight / f"{key}-tiny" / "metrics.json").read_text())
    expected_history = json.loads((straight / f"{key}-tiny" / "history.json").read_text())

    point = broken / f".{key}-tiny.resume"
    _, killed = _kill_when(
        [*_base(prepared_dir, broken, key), *extra], lambda proc, kids: (point / "epoch-2" / "state.json").exists()
    )
    assert killed, "the run finished before it could be killed after epoch 2"
    assert not (broken / f"{key}-tiny").exists()

    # The point is refused to a run of other settings (one line, exit 2) and stays for the right one.
    other = subprocess.run([*_base(prepared_dir, broken, key), *extra, "--resume", "--seed", "5"], capture_output=True)
    assert other.returncode == 2, other.stderr[-800:]
    assert b"other settings" in other.stderr and b"Traceback" not in other.stderr
    assert (point / "epoch-2" / "state.json").is_file()

    resumed = subprocess.run([*_base(prepared_dir, broken, key), *extra, "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-800:]
    assert "resuming after epoch" in resumed.stdout + resumed.stderr
    got = json.loads((broken / f"{key}-tiny" / "metrics.json").read_text())
    history = json.loads((broken / f"{key}-tiny" / "history.json").read_text())
    assert got["resumed_after_epoch"] >= 2
    assert got["best_epoch"] == expected["best_epoch"]
    assert got["epochs_run"] == expected["epochs_run"]
    for metric in ("loss", "val_loss", "val_accuracy"):
        assert history[metric] == pytest.approx(expected_history[metric], abs=1e-4), metric
    assert got["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-4)
    assert not point.exists(), "a completed run removes its resume points"

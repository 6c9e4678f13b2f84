"""SIGKILL at a random point: previous outputs stay intact, no process is left behind, the next run succeeds.
(The catalogue's kill-and-resume test lives in test_catalogue.py.)"""

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

psutil = pytest.importorskip("psutil")
CLI = [sys.executable, "-m", "rakuten_edge.cli"]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _kill_when(cmd: list[str], ready, timeout: float = 180.0) -> tuple[list[int], bool]:
    """Start `cmd`, SIGKILL it once ready(proc) holds (plus a random few ms); return its children and whether it
    was killed before finishing."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent, children, deadline = psutil.Process(proc.pid), [], time.time() + timeout
    while proc.poll() is None and time.time() < deadline:
        try:
            children = [c.pid for c in parent.children(recursive=True)] or children
        except psutil.NoSuchProcess:
            break
        if ready(proc, children):
            time.sleep(random.uniform(0, 0.05))
            break
        time.sleep(0.005)
    killed = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return children, killed


def _gone(pids: list[int], wait: float = 10.0) -> bool:
    deadline = time.time() + wait
    while time.time() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow  # about 10 s: three prepares, one killed
def test_killed_prepare_leaves_no_orphan_and_keeps_the_previous_output(raw_dir, tmp_path):
    out = tmp_path / "prepared"
    subprocess.run([*CLI, "data", "prepare", "--raw", str(raw_dir), "--out", str(out)], check=True, capture_output=True)
    before = _snapshot(out)
    for _ in range(3):  # the decoding phase is short: catch it while its pool workers exist
        children, killed = _kill_when(
            [*CLI, "data", "prepare", "--raw", str(raw_dir), "--out", str(out), "--force"],
            lambda proc, kids: len(kids) >= 2,
        )
        assert _gone(children), "pool workers outlived their killed parent"
        if killed and children:
            break
    assert killed and children, "could not catch prepare while its pool ran"
    assert _snapshot(out) == before
    again = subprocess.run(
        [*CLI, "data", "prepare", "--raw", str(raw_dir), "--out", str(out), "--force"], capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr[-800:]
    # Nothing of the killed runs is left beside the output: no staging or swapped-out folder, whatever its name.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prepared"]


@pytest.mark.slow  # a trained model (tiny preset) as the previous run, then two trainings
def test_killed_train_keeps_the_previous_run(trained_runs, prepared_dir, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(trained_runs["cnn2"], runs / "cnn2-tiny")  # the previous run (made once for the test session)
    before = _snapshot(runs / "cnn2-tiny")
    base = [
        *CLI,
        "train",
        "cnn2",
        "--preset",
        "tiny",
        "--limit",
        "200",
        "--data",
        str(prepared_dir),
        "--out",
        str(runs),
    ]
    _, killed = _kill_when([*base, "--epochs", "4"], lambda proc, kids: bool(list(runs.glob(".cnn2-tiny.tmp-*"))))
    assert killed
    assert _snapshot(runs / "cnn2-tiny") == before
    again = subprocess.run([*base, "--epochs", "1", "--seed", "3"], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-800:]
    assert json.loads((runs / "cnn2-tiny" / "config.json").read_text())["training"]["seed"] == 3
    assert [p.name for p in runs.iterdir()] == ["cnn2-tiny"]  # the killed run's staging folder was cleared


@pytest.mark.slow  # a trained model (tiny preset) and its bundle as the previous one
def test_killed_export_keeps_the_previous_bundle(trained_runs, bundles, prepared_dir, tmp_path):
    run, out = trained_runs["cnn2"], tmp_path / "bundles"
    fp32 = bundles["cnn2"]["fp32"]
    shutil.copytree(fp32, out / fp32.name)  # the previous bundle (made once for the test session)
    assert fp32.name == f"{run.name}-fp32"
    before = _snapshot(out / fp32.name)
    base = [*CLI, "export", run.name, "--runs", str(run.parent), "--out", str(out), "--data", str(prepared_dir)]
    _, killed = _kill_when([*base, "--quantize"], lambda proc, kids: bool(list(out.glob(".*.tmp-*"))))
    assert killed
    assert _snapshot(out / fp32.name) == before
    again = subprocess.run([*base, "--quantize"], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-800:]
    assert sorted(p.name for p in out.iterdir()) == [fp32.name, f"{run.name}-int8"]

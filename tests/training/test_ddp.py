"""The training command line under torchrun: 2 processes on the CPU (gloo) give the loss curve of one process with
the same global batch, only rank 0 logs and writes, and a rerun with more epochs resumes from the checkpoint."""

import json
import os
import subprocess
import sys

import pytest
from safetensors import safe_open

from sar_coastline.training.checkpoint import METADATA_KEY

MEMBER = "unet_resnet18_softmax_coast_log"
# Global batch 4, three epochs of one step: the loss of each epoch is the loss of one step.
ARGS = ["--generate", "2", "--generated-size", "256", "--steps", "1", "--batch-size", "4",
        "--model-side", "64", "--crop-range", "128", "192", "--curriculum-epochs", "1", "--validation-share", "0",
        "--device", "cpu", "--encoder", "resnet18", "--seed", "3"]
# Two ranks of 2 samples each against one process running its batch of 4 as 2 parts of 2 (gradient accumulation):
# the same samples, batch-norm statistics and Dice per part, gradients summed alike. What remains is the order
# of floating-point sums (and the 5 decimals the history keeps).
TOLERANCE = 2e-4


def run(out, *extra, ranks=1):
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}", "-m"]
                if ranks > 1 else [sys.executable, "-m"])
    completed = subprocess.run(launcher + ["sar_coastline.training.cli", *ARGS, "--out", str(out), *extra],
                               capture_output=True, text=True, env=environment, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def losses(out):
    with safe_open(str(out / f"{MEMBER}.checkpoint.safetensors"), framework="pt") as handle:
        header = json.loads(handle.metadata()[METADATA_KEY])
    return [entry["loss"] for entry in header["progress"]["history"]]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp")
    first = run(folder / "ddp", "--epochs", "3", ranks=2)
    three_epochs = losses(folder / "ddp")
    run(folder / "accumulated", "--epochs", "3", "--accumulation", "2")
    return folder, first, three_epochs


def test_two_ranks_follow_the_loss_curve_of_one_process_with_the_same_global_batch(runs):
    folder, _first, ddp = runs
    single = losses(folder / "accumulated")
    assert len(ddp) == len(single) == 3
    assert ddp == pytest.approx(single, abs=TOLERANCE)
    assert ddp[0] != ddp[1]  # the curve moves: the steps trained


def test_only_rank_0_logs_and_writes(runs):
    folder, first, _ddp = runs
    assert first.count("epoch 1/3") == 1 and "2 processes, each 2 of every batch of 4" in first
    assert sorted(path.name for path in (folder / "ddp").iterdir() if path.is_file()) == sorted(
        ["ensemble.json", f"{MEMBER}.safetensors", f"{MEMBER}.checkpoint.safetensors"])


def test_a_two_rank_rerun_with_more_epochs_resumes_from_the_checkpoint(runs):
    folder, _first, three_epochs = runs
    resumed = run(folder / "ddp", "--epochs", "4", ranks=2)
    assert resumed.count("resumed from the checkpoint after epoch 3") == 1 and resumed.count("epoch 4/4") == 1
    after = losses(folder / "ddp")
    assert len(after) == 4 and after[:3] == three_epochs and 0 < after[3] < after[0]

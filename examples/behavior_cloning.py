"""Behavior cloning from movies: the path from recorded play to a policy, on the CPU.

Turns each example movie into a dataset (`retrotool.dump.dump_dataset`),
loads it back as numpy arrays (`retrotool.datasets.load`) and trains a small
CNN to predict the buttons pressed after each observation (one sigmoid per
button of the MultiBinary action), printing the loss as it goes down:

- examples/testgame.bk2 (the test core, always there): random presses held
  for 1-16 frames, which the game draws in its top bar, so the next buttons
  are mostly the ones on screen;
- examples/airstriker.bk2 (with `pip install '.[cores]'`): a scripted agent
  playing a Genesis shooter.

    pip install '.[learn]'   # PyTorch; CPU only is enough
    python examples/behavior_cloning.py [--steps 300] [--keep DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from retrotool import datasets
from retrotool.datasets import dump
from retrotool.datasets.sink import DatasetOptions

HERE = Path(__file__).resolve().parent
# per movie: how to shrink its pictures (the CNN wants small grayscale ones)
MOVIES = {
    "testgame.bk2": DatasetOptions(grayscale=True, resize=(80, 72)),
    "airstriker.bk2": DatasetOptions(grayscale=True, resize=(84, 84), frame_skip=4),
}


def policy(shape: tuple[int, ...], actions: int) -> nn.Module:
    """Two strided convolutions and a linear layer: small enough for a CPU minute."""
    h, w, c = shape
    body = nn.Sequential(nn.Conv2d(c, 16, 5, stride=2), nn.ReLU(), nn.Conv2d(16, 32, 5, stride=2), nn.ReLU(),
                         nn.Flatten())
    with torch.no_grad():
        features = body(torch.zeros(1, c, h, w)).shape[1]
    return nn.Sequential(body, nn.Linear(features, 128), nn.ReLU(), nn.Linear(128, actions))


def train(folder: Path, steps: int, batch: int = 64, seed: int = 0) -> tuple[float, float]:
    """Fit observations → next action; returns the mean loss of the first and last 50 steps."""
    episodes = list(datasets.load(folder))
    obs = np.concatenate([e.observations[:-1] for e in episodes])  # o_t, for a_t
    act = np.concatenate([e.actions for e in episodes]).astype(np.float32)
    keep = act.std(axis=0) > 0  # buttons never pressed teach nothing
    x = torch.from_numpy(obs).permute(0, 3, 1, 2).contiguous().float() / 255
    y = torch.from_numpy(act[:, keep])
    torch.manual_seed(seed)
    model = policy(obs.shape[1:], int(keep.sum()))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    losses = []
    for step in range(1, steps + 1):
        idx = torch.randint(0, x.shape[0], (batch,))
        loss = loss_fn(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % 50 == 0:
            print(f"  step {step:4d}  loss {np.mean(losses[-50:]):.4f}")
    return float(np.mean(losses[:50])), float(np.mean(losses[-50:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps per dataset")
    parser.add_argument("--keep", type=Path, help="write the datasets here instead of a temporary folder")
    args = parser.parse_args()
    torch.set_num_threads(2)
    movies = [m for m in MOVIES if (HERE / m).is_file()]
    if importlib.util.find_spec("stable_retro") is None:  # Airstriker's ROM comes with the `cores` extra
        movies = [m for m in movies if m != "airstriker.bk2"]
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(exist_ok=True)
        for name in movies:
            out = root / Path(name).stem
            t0 = time.perf_counter()
            result = dump.dump_dataset([HERE / name], out, options=MOVIES[name])
            if result.failed:
                raise SystemExit(result.failed[0].error)
            print(f"{name}: {result.steps} steps -> {out} in {time.perf_counter() - t0:.1f} s")
            first, last = train(out, args.steps)
            print(f"{name}: loss {first:.4f} -> {last:.4f}")
            if not last < first:
                raise SystemExit(f"{name}: the loss did not go down")


if __name__ == "__main__":
    main()

"""The imitation-learning loop, end to end: demonstrations -> dataset -> policy -> evaluation -> movie -> video.

1. demonstrations: examples/airstriker.bk2 (a scripted agent playing Airstriker), or the test
   core's examples/testgame.bk2 with --game testgame (no ROM needed);
2. `retrotool dump-dataset` (the library call): 84x84 grayscale, one step every 4 frames;
3. behaviour cloning: a small CNN on 4 stacked frames (`datasets.load(..., stack=4)`, stacked at
   load time) predicts the buttons of each step;
4. evaluation in `retrotool.make(game, frameskip=4, record=DIR)`: N episodes of the policy and N of a
   random policy, mean returns printed; every episode is recorded as a verified movie;
5. the best episode's movie rendered with `retrotool playback MOVIE --mp4`.

    pip install '.[learn,cores]'
    python examples/imitation_loop.py [--game airstriker|testgame] [--episodes 3] [--max-steps 600]
                                      [--train-steps 300] [--out DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import deque
from pathlib import Path

import numpy as np
import torch
from torch import nn

import retrotool
from retrotool import datasets
from retrotool.datasets import dump
from retrotool.datasets.sink import DatasetOptions, Pictures

HERE = Path(__file__).resolve().parent
GAMES = {"airstriker": ("airstriker.bk2", "Airstriker-Genesis-v0"), "testgame": ("testgame.bk2", "TestGame-Test")}
SKIP, STACK = 4, 4
OPTIONS = DatasetOptions(grayscale=True, resize=(84, 84), frame_skip=SKIP)


def policy(actions: int) -> nn.Module:
    """Atari-sized: 4 stacked 84x84 frames in, one logit per button out."""
    return nn.Sequential(nn.Conv2d(STACK, 16, 8, stride=4), nn.ReLU(), nn.Conv2d(16, 32, 4, stride=2), nn.ReLU(),
                         nn.Flatten(), nn.Linear(32 * 9 * 9, 128), nn.ReLU(), nn.Linear(128, actions))


def as_input(stacked: np.ndarray) -> torch.Tensor:
    """[n, stack, 84, 84, 1] uint8 -> [n, stack, 84, 84] float in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(stacked[..., 0])).float() / 255


def train(folder: Path, steps: int, seed: int = 0) -> nn.Module:
    episodes = list(datasets.load(folder, stack=STACK))
    x = as_input(np.concatenate([e.observations[:-1] for e in episodes]))  # o_t (with the 3 before), for a_t
    y = torch.from_numpy(np.concatenate([e.actions for e in episodes]).astype(np.float32))
    torch.manual_seed(seed)
    model = policy(y.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    for step in range(1, steps + 1):
        idx = torch.randint(0, x.shape[0], (64,))
        loss = loss_fn(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == steps:
            print(f"  train step {step:4d}  loss {loss.item():.4f}")
    return model.eval()


def evaluate(game: str, players: int, act, episodes: int, max_steps: int, record: Path, seed: int) -> list[float]:
    """Returns of `episodes` episodes (each at most max_steps steps), recorded as movies in `record`."""
    env = retrotool.make(game, players=players, frameskip=SKIP, record=record)
    rng = np.random.default_rng(seed)
    returns = []
    for _ in range(episodes):
        obs, _ = env.reset()
        pictures = Pictures(OPTIONS, obs.shape[:2])
        frames = deque([pictures(obs[None])[0]] * STACK, maxlen=STACK)
        total = 0.0
        for _ in range(max_steps):
            obs, reward, terminated, truncated, _ = env.step(act(np.stack(frames), rng, env))
            frames.append(pictures(obs[None])[0])
            total += float(reward)
            if terminated or truncated:
                break
        returns.append(total)
    env.close()
    return returns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--game", choices=sorted(GAMES), default="airstriker")
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=600)
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument("--out", type=Path, help="keep everything here instead of a temporary folder")
    args = parser.parse_args()
    torch.set_num_threads(2)
    movie, game = GAMES[args.game]
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        result = dump.dump_dataset([HERE / movie], root / "dataset", options=OPTIONS)
        if result.failed:
            raise SystemExit(result.failed[0].error)
        print(f"dataset: {result.steps} steps from {movie}")
        model = train(root / "dataset", args.train_steps)

        def cloned(stacked: np.ndarray, rng: np.random.Generator, env: object) -> np.ndarray:
            with torch.no_grad():
                p = torch.sigmoid(model(as_input(stacked[None])))[0].numpy()
            return (rng.random(p.shape) < p).astype(np.uint8)  # each button pressed with its probability

        def random(stacked: np.ndarray, rng: np.random.Generator, env: object) -> np.ndarray:
            return rng.integers(0, 2, env.action_space.shape, dtype=np.uint8)  # type: ignore[attr-defined]

        players = datasets.read_manifest(root / "dataset")["players"]  # type: ignore[index]
        runs = {}
        for name, act in (("behaviour cloning", cloned), ("random", random)):
            (root / name).mkdir(exist_ok=True)
            runs[name] = evaluate(game, players, act, args.episodes, args.max_steps, root / name, seed=1)
            print(f"{name:18s} mean return {np.mean(runs[name]):8.1f}  ({', '.join(f'{r:g}' for r in runs[name])})")
        best = int(np.argmax(runs["behaviour cloning"]))
        best_movie = sorted((root / "behaviour cloning").glob("*.bk2"))[best]
        video = root / "best.mp4"
        subprocess.run([sys.executable, "-m", "retrotool", "playback", str(best_movie), "--mp4", str(video), "--force"],
                       check=True)
        print(f"best episode: {best_movie.name} (return {runs['behaviour cloning'][best]:g}) -> {video}")


if __name__ == "__main__":
    main()

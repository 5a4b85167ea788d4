"""stable-retro's side of the conformance suite: run in a fresh process by the tests, never imported by them.

    python sr_oracle.py state  DATA GAME PLAYERS FRAMES SEED OUT.state   make an integration state
    python sr_oracle.py record DATA GAME STATE|- PLAYERS FRAMES SEED OUT.bk2
    python sr_oracle.py play   DATA MOVIE
    python sr_oracle.py default DATA GAME FRAMES                           reset() into the game's default state, then
                                                                           FRAMES steps with no button held

DATA is a folder of custom integrations (Integrations.add_custom_path). `record`
plays a random agent that presses, every step, each button stable-retro's movies
can hold with probability 1/2 (so opposing directions meet), and records it with
stable-retro's own Movie API (what `record=` uses; called directly because
`record=` crashes without a state). `play` replays a movie the way
stable_retro/scripts/playback_movie.py does; a movie without Core.bin (which
stable-retro cannot open) is read from a copy with an empty Core.bin, its keys
decoded by stable-retro, and played from power-on (State.NONE).

Both print one JSON line: per row (row 0 = after reset(), row k = after the
k-th env.step) [sha256 of get_ram(), sha256 of get_screen(), reward, done,
info]; reward and done are null on row 0, where stable-retro computes none.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import sys
import tempfile
import zipfile

import numpy as np
import stable_retro as retro

RECORDED = {"A", "B", "C", "X", "Y", "Z", "START", "SELECT", "MODE", "UP", "DOWN", "LEFT", "RIGHT", "L", "R", "BUTTON"}


def _make(data: str, game: str, state: object, players: int) -> retro.RetroEnv:
    retro.data.Integrations.add_custom_path(data)
    return retro.make(game, state=state, players=players, use_restricted_actions=retro.Actions.ALL,
                      inttype=retro.data.Integrations.ALL, render_mode=None)


def _row(env: retro.RetroEnv, reward: object, done: object, info: dict[str, object]) -> list[object]:
    screen = np.ascontiguousarray(env.get_screen(), dtype=np.uint8).tobytes()
    return [hashlib.sha256(env.get_ram().tobytes()).hexdigest(), hashlib.sha256(screen).hexdigest(),
            reward, done, {k: int(v) for k, v in info.items()}]


def _agent(env: retro.RetroEnv, players: int, seed: int):
    allowed = np.array([b in RECORDED for b in env.buttons] * players)
    rng = np.random.default_rng(seed)
    while True:
        yield (rng.integers(0, 2, size=allowed.size) * allowed).astype(np.uint8)


def make_state(data: str, game: str, players: int, frames: int, seed: int, out: str) -> None:
    env = _make(data, game, retro.State.NONE, players)
    env.reset()
    agent = _agent(env, players, seed)
    for _ in range(frames):
        env.step(next(agent))
    with gzip.open(out, "wb") as f:
        f.write(env.em.get_state())
    env.close()
    print(json.dumps([]))


def record(data: str, game: str, state: str, players: int, frames: int, seed: int, out: str) -> None:
    env = _make(data, game, retro.State.NONE if state == "-" else state, players)
    env.record_movie(out)
    env.reset()
    rows = [_row(env, None, None, env.data.lookup_all())]
    agent = _agent(env, players, seed)
    for _ in range(frames):
        _, reward, done, _, info = env.step(next(agent))
        rows.append(_row(env, float(reward), bool(done), info))
    env.stop_record()
    env.close()
    print(json.dumps(rows))


def default(data: str, game: str, frames: int) -> None:
    env = _make(data, game, retro.State.DEFAULT, 1)
    env.reset()
    rows = [_row(env, None, None, env.data.lookup_all())]
    for _ in range(frames):
        _, reward, done, _, info = env.step(np.zeros(env.num_buttons, np.uint8))
        rows.append(_row(env, float(reward), bool(done), info))
    env.close()
    print(json.dumps(rows))


def play(data: str, path: str) -> None:
    with zipfile.ZipFile(path) as zf:
        power_on = "Core.bin" not in zf.namelist()
    if power_on:  # stable-retro opens no movie without Core.bin: give a copy one, then ignore it
        copy = tempfile.NamedTemporaryFile(suffix=".bk2", delete=False).name
        shutil.copyfile(path, copy)
        with zipfile.ZipFile(copy, "a") as zf:
            zf.writestr("Core.bin", b"")
        path = copy
    movie = retro.Movie(path)
    movie.step()
    env = _make(data, movie.get_game(), retro.State.NONE, movie.players)
    if not power_on:
        env.initial_state = movie.get_state()
    env.reset()
    rows = [_row(env, None, None, env.data.lookup_all())]
    while movie.step():
        keys = [movie.get_key(i, p) for p in range(movie.players) for i in range(env.num_buttons)]
        _, reward, done, _, info = env.step(keys)
        rows.append(_row(env, float(reward), bool(done), info))
    env.close()
    print(json.dumps(rows))


if __name__ == "__main__":
    verb, args = sys.argv[1], sys.argv[2:]
    if verb == "state":
        make_state(args[0], args[1], int(args[2]), int(args[3]), int(args[4]), args[5])
    elif verb == "record":
        record(args[0], args[1], args[2], int(args[3]), int(args[4]), int(args[5]), args[6])
    elif verb == "play":
        play(args[0], args[1])
    elif verb == "default":
        default(args[0], args[1], int(args[2]))
    else:
        sys.exit(f"unknown verb {verb!r}")

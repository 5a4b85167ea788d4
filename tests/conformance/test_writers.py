"""Every writer's movies agree with stable-retro at every checkpoint they carry.

The scripted recorder is covered row by row in test_stable_retro.py; here the
agent API (`retrotool.Recorder`, with a re-record), the live recorder (SDL's
dummy drivers, scripted key events) and journal recovery (an agent killed
mid-recording) write movies that stable-retro replays (sr_oracle.py), and the
hashes each movie stores at its checkpoints must be stable-retro's at those
rows; `retrotool verify` must match every one of them too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import oracle

from retrotool import movie as bk2, playback, session, systems
from retrotool.record import live, recover as recovery

pytestmark = [pytest.mark.realcore, pytest.mark.filterwarnings("ignore:pygame.init")]


def _agrees(movie_path: Path, sr_data: Path) -> int:
    """Checkpoints of the movie that match stable-retro's replay (all of them, or the test fails)."""
    movie = bk2.read(movie_path)
    rows = oracle("play", sr_data, movie_path)
    assert movie.checkpoints and len(rows) == movie.frames
    for c in movie.checkpoints:
        assert [c.ram_sha256, c.screen_sha256] == rows[c.frame][:2], f"{movie_path.name}: checkpoint at frame {c.frame}"
    assert playback.verify(movie_path).checkpoints == len(movie.checkpoints)
    return len(movie.checkpoints)


@pytest.mark.parametrize("start", ["state", "power-on"])
def test_the_agent_recorder(start: str, integration, sr_data: Path, tmp_path: Path) -> None:
    from retrotool import Recorder

    probe, _, _ = integration("Snes")  # two pads, a memory map, RAM in three blocks
    snes = systems.get("Snes")
    rng = np.random.default_rng(3)
    out = tmp_path / "agent.bk2"
    with Recorder(game=probe.game, out=out, power_on=start == "power-on", players=2, checkpoint_every=97) as rec:
        for k in range(700):
            rec.step(*rng.integers(0, 2, size=(2, len(snes.buttons))))
            if k == 300:
                slot = rec.save_state()
        rec.load_state(slot)  # a re-record: the movie goes on from frame 302
        for _ in range(200):
            rec.step(*rng.integers(0, 2, size=(2, len(snes.buttons))))
    assert bk2.read(out).frames == 502
    assert _agrees(out, sr_data) >= 5


def test_the_live_recorder(integration, sr_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pg = pytest.importorskip("pygame", reason="the live recorder needs pygame-ce (the 'record' extra)")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    probe, _, _ = integration("Genesis")

    def key(name: str, down: bool = True) -> object:
        return pg.event.Event(pg.KEYDOWN if down else pg.KEYUP, key=pg.key.key_code(name))

    script = {0: [key("="), key("=")], 20: [key("right")], 60: [key("x")], 90: [key("right", False)],
              140: [key("x", False), key("up")], 200: [key("up", False)], 420: [pg.event.Event(pg.QUIT)]}
    out = tmp_path / "live.bk2"
    result = live.record_live(live.Start(session.game_content(game=probe.game), None, 1), out=out,
                                   events=lambda frame: script.get(frame, []), checkpoint_every=50)
    assert result.movie == out and result.frames >= 400
    assert _agrees(out, sr_data) >= 8


AGENT = """
import os, signal, sys
import numpy as np
from retrotool import Recorder
from retrotool.record import live
from retrotool import playback
from retrotool.record import recover as recovery
from retrotool import session
rec = Recorder(game=sys.argv[1], out="killed.bk2", checkpoint_every=40)
rng = np.random.default_rng(5)
for _ in range(333):
    rec.step(rng.integers(0, 2, size=len(rec.buttons)))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_recovered_journal(integration, sr_data: Path, tmp_path: Path) -> None:
    probe, _, _ = integration("Nes")
    proc = subprocess.run([sys.executable, "-c", AGENT, probe.game], cwd=tmp_path, capture_output=True, timeout=300)
    assert proc.returncode == -9, proc.stderr
    done = recovery.recover(tmp_path / "killed.bk2.journal")
    assert done.frames == 334 and done.checkpoints >= 8
    assert _agrees(done.movie, sr_data) >= 9

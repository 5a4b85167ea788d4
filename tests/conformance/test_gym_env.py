"""`retrotool.make` against stable-retro's `retro.make`: one script written for stable-retro, run against both.

The script imports `stable_retro as retro` or, changing only that line,
`retrotool as retro`, and plays seeded random actions through
`env.action_space.sample()`; both runs, each in a fresh process, must print
the same observations (hashes), rewards, done flags and infos, step by step,
resets included. A movie an env records must replay in stable-retro to the
observations the env returned.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.realcore

SCRIPT = r'''
import hashlib, json, os, sys
import numpy as np
if sys.argv[1] == "stable-retro":
    import stable_retro as retro
else:
    import retrotool as retro
game, steps, mode, obs_type, data = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
extra = {}
if data != "-" and sys.argv[1] == "stable-retro":  # a custom integration: stable-retro is told where it is
    retro.data.Integrations.add_custom_path(data)
    extra["inttype"] = retro.data.Integrations.ALL
obs_kind = retro.Observations.RAM if obs_type == "ram" else retro.Observations.IMAGE
env = retro.make(game, state=retro.State.DEFAULT, use_restricted_actions=getattr(retro.Actions, mode),
                 obs_type=obs_kind, render_mode=None, **extra)
env.action_space.seed(0)
def h(a): return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:20]
obs, info = env.reset(seed=0)
rows = [["reset", h(obs), list(obs.shape), info]]
for i in range(steps):
    a = env.action_space.sample()
    obs, rew, term, trunc, info = env.step(a)
    rows.append([h(obs), float(rew), bool(term), bool(trunc), {k: int(v) for k, v in info.items()}])
    if term or trunc:
        obs, info = env.reset()
        rows.append(["reset", h(obs), list(obs.shape), info])
print(json.dumps({"rows": rows, "action_space": str(env.action_space), "obs_space": str(env.observation_space),
                  "buttons": [b for b in env.buttons], "meaning": env.get_action_meaning(env.action_space.sample())}))
env.close()
'''


@pytest.fixture(scope="module")
def stable_retro_data() -> Path:
    spec = importlib.util.find_spec("stable_retro")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("stable-retro (the 'cores' extra) is not installed")
    root = Path(next(iter(spec.submodule_search_locations))) / "data" / "stable"
    if not (root / "Airstriker-Genesis-v0" / "rom.md").is_file():
        pytest.skip("stable-retro has no Airstriker")
    return root


def _run(which: str, game: str, steps: int, mode: str, obs: str = "rgb", data: Path | None = None) -> dict:
    env = None
    if data is not None:
        import os

        env = {**os.environ, "RETROTOOL_DATA_PATH": str(data)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, which, game, str(steps), mode, obs, str(data or "-")],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _same(ours: dict, theirs: dict) -> None:
    for key in ("action_space", "obs_space", "buttons"):
        assert ours[key] == theirs[key], key
    assert len(ours["rows"]) == len(theirs["rows"])
    for i, (a, b) in enumerate(zip(ours["rows"], theirs["rows"])):
        assert a == b, f"row {i} differs: retrotool {a}, stable-retro {b}"


@pytest.mark.parametrize(("mode", "obs", "steps"), [
    ("FILTERED", "rgb", 2500),  # the defaults; two game overs and resets on the way
    ("ALL", "rgb", 300), ("DISCRETE", "rgb", 300), ("MULTI_DISCRETE", "rgb", 300), ("FILTERED", "ram", 300),
])
def test_a_stable_retro_script_runs_unchanged_but_its_import(stable_retro_data: Path, mode: str, obs: str,
                                                              steps: int) -> None:
    ours = _run("retrotool", "Airstriker-Genesis-v0", steps, mode, obs)
    theirs = _run("stable-retro", "Airstriker-Genesis-v0", steps, mode, obs)
    _same(ours, theirs)
    if mode == "FILTERED" and obs == "rgb":
        assert sum(1 for r in ours["rows"] if r[0] == "reset") >= 2, "the run should cross an episode's end"
        assert any(r[1] > 0 for r in ours["rows"] if r[0] != "reset"), "some step should score"


def test_a_scenario_that_restricts_actions_and_crops(stable_retro_data: Path, tmp_path: Path) -> None:
    """A custom integration: the scenario lists actions (in an order unlike stable-retro's) and a crop."""
    game = tmp_path / "Airstrike2-Genesis"
    shutil.copytree(stable_retro_data / "Airstriker-Genesis-v0", game)
    scenario = json.loads((game / "scenario.json").read_text())
    scenario["actions"] = [[[], ["C"], ["A"], ["B"], ["A", "B"]], [[], ["RIGHT"], ["LEFT"]]]
    scenario["crop"] = [8, 16, 300, 0]
    (game / "scenario.json").write_text(json.dumps(scenario))
    for mode in ("DISCRETE", "FILTERED", "MULTI_DISCRETE"):
        ours = _run("retrotool", "Airstrike2-Genesis", 400, mode, data=tmp_path)
        theirs = _run("stable-retro", "Airstrike2-Genesis", 400, mode, data=tmp_path)
        _same(ours, theirs)
    assert ours["obs_space"] == "Box(0, 255, (208, 300, 3), uint8)"


RECORD = r'''
import hashlib, json, sys
import numpy as np
import retrotool
env = retrotool.make("Airstriker-Genesis-v0", record=sys.argv[1])
env.action_space.seed(3)
def h(a): return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
obs, _ = env.reset()
screens = [h(obs)]
for _ in range(700):
    obs, *_ = env.step(env.action_space.sample())
    screens.append(h(obs))
obs, _ = env.reset()
for _ in range(5):
    env.step(env.action_space.sample())
env.close()
print(json.dumps({"screens": screens, "movies": [str(m) for m in env.movies]}))
'''


def test_recorded_episodes_replay_in_stable_retro_to_what_the_env_showed(stable_retro_data: Path, tmp_path: Path,
                                                                         python_json, stable_retro_replay) -> None:
    done = python_json(RECORD, str(tmp_path))
    movies = [Path(m) for m in done["movies"]]
    assert [m.name for m in movies] == ["Airstriker-Genesis-v0-Level1-000000.bk2",
                                        "Airstriker-Genesis-v0-Level1-000001.bk2"]
    from retrotool import movie as bk2

    first = bk2.read(movies[0])
    assert first.frames == 701 and len(first.checkpoints) >= 2  # the reset row, 700 steps; keyframes every 600
    replayed = stable_retro_replay(movies[0])
    assert [row[1] for row in replayed["rows"]] == done["screens"]
    with gzip.open(stable_retro_data / "Airstriker-Genesis-v0" / "Level1.state") as f:
        assert first.state == f.read()
    assert hashlib.sha1((stable_retro_data / "Airstriker-Genesis-v0" / "rom.md").read_bytes()).hexdigest() == \
        first.meta["content_sha1"]
    assert np.asarray(first.buttons)[0].sum() == 0  # row 0: the reset frame, released

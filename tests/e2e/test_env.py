"""The Gymnasium env and vector envs on the test core (TestGame-Test, shipped): no ROM or stable-retro needed.

stable-retro itself is the oracle in tests/conformance/test_gym_env.py; here:
Gymnasium's own checker, registration, frame skip, recording, many envs,
and the bad input the env must refuse with a useful message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import retrotool
from retrotool import movie as bk2, playback
from retrotool.env import ResetNeeded, RetroEnv
from retrotool.errors import RetroToolError

GAME = "TestGame-Test"


def _actions(env: gymnasium.Env, n: int, seed: int = 0) -> list[np.ndarray]:
    env.action_space.seed(seed)
    return [env.action_space.sample() for _ in range(n)]


def test_gymnasiums_checker_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")  # the checker also makes the env with render_mode="human"
    check_env(retrotool.make(GAME), skip_render_check=False)
    env = gymnasium.make("retrotool/TestGame-Test-v0")
    check_env(env.unwrapped)
    env.close()


def test_registered_ids_make_the_env_and_vector_envs() -> None:
    import retrotool.env  # noqa: F401 - registers

    assert "retrotool/TestGame-Test-v0" in gymnasium.registry
    env = gymnasium.make("retrotool/TestGame-Test-v0", render_mode="rgb_array")
    obs, info = env.reset(seed=1)
    assert obs.shape == (144, 160, 3) and info == {}
    assert env.render().shape == (144, 160, 3)
    env.close()
    vec = gymnasium.make_vec("retrotool/TestGame-Test-v0", num_envs=2, vectorization_mode="sync")
    obs, _ = vec.reset(seed=0)
    assert obs.shape == (2, 144, 160, 3)
    vec.close()


def test_one_step_of_frameskip_4_is_four_single_steps() -> None:
    single, skipping = retrotool.make(GAME), retrotool.make(GAME, frameskip=4)
    single.reset()
    skipping.reset()
    for action in _actions(single, 30):
        total = 0.0
        for _ in range(4):
            obs, reward, *_, info = single.step(action)
            total += reward
        obs4, reward4, *_, info4 = skipping.step(action)
        assert np.array_equal(obs, obs4) and reward4 == total and info4 == info
    single.close()
    skipping.close()


def test_many_envs_in_one_process_play_alike() -> None:
    envs = [retrotool.make(GAME) for _ in range(3)]
    firsts = [e.reset()[0] for e in envs]
    assert all(np.array_equal(firsts[0], f) for f in firsts)
    for action in _actions(envs[0], 50):
        results = [e.step(action) for e in envs]
        assert all(np.array_equal(results[0][0], r[0]) and results[0][1:] == r[1:] for r in results)
    for e in envs:
        e.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec_steps_like_single_envs_and_resets_ended_episodes(tmp_path: Path, mode: str) -> None:
    scenario = tmp_path / "short.json"  # episodes of ~40 frames: the done condition is reached
    scenario.write_text(json.dumps({"reward": {"variables": {"score": {"reward": 1}}},
                                    "done": {"variables": {"frame": {"op": "greater-than", "reference": 160}}}}))
    vec = retrotool.make_vec(GAME, 2, mode=mode, scenario=str(scenario))
    single = retrotool.make(GAME, scenario=str(scenario))
    obs, _ = vec.reset(seed=0)
    first, _ = single.reset()
    assert np.array_equal(obs[0], first) and np.array_equal(obs[1], first)
    ended = False
    for action in _actions(single, 120):
        obs, reward, terminated, truncated, info = vec.step(np.stack([action, action]))
        if ended:  # Gymnasium's next-step autoreset: this step was a reset
            expected, _ = single.reset()
            assert np.array_equal(obs[0], expected) and reward[0] == 0
            ended = False
            continue
        o, r, t, _, i = single.step(action)
        assert np.array_equal(obs[1], o) and reward[1] == r and terminated[1] == t and info["score"][1] == i["score"]
        ended = t
    vec.close()
    single.close()


def test_recorded_episodes_are_verified_movies_of_the_rows_played(tmp_path: Path) -> None:
    env = retrotool.make(GAME, record=tmp_path)
    env.reset()
    for action in _actions(env, 700):
        env.step(action)
    env.reset()  # ends episode 0: written and verified
    env.step(env.action_space.sample())
    env.close()
    assert [m.name for m in env.movies] == ["TestGame-Test-Start-000000.bk2", "TestGame-Test-Start-000001.bk2"]
    movie = bk2.read(env.movies[0])
    assert movie.frames == 701 and not movie.buttons[0].any()
    assert playback.verify(env.movies[0]).checkpoints == len(movie.checkpoints) >= 2


def test_power_on_episodes_each_start_from_power_on() -> None:
    env = retrotool.make(GAME, state=retrotool.State.NONE)
    first, _ = env.reset()
    for action in _actions(env, 20):
        env.step(action)
    again, _ = env.reset()
    assert np.array_equal(first, again) and env.statename == "PowerOn"
    env.close()


def test_ram_observations_and_crop_free_spaces() -> None:
    env = retrotool.make(GAME, obs_type="ram")
    obs, _ = env.reset()
    assert env.observation_space.contains(obs) and obs.ndim == 1
    assert np.array_equal(env.step(env.action_space.sample())[0], env.get_ram())
    env.close()


def test_step_before_reset_and_after_the_end_is_refused(tmp_path: Path) -> None:
    scenario = tmp_path / "short.json"
    scenario.write_text(json.dumps({"done": {"variables": {"frame": {"op": "greater-than", "reference": 130}}}}))
    env = retrotool.make(GAME, scenario=str(scenario))
    with pytest.raises(ResetNeeded, match="call reset"):
        env.step(env.action_space.sample())
    env.reset()
    terminated = False
    while not terminated:
        terminated = env.step(env.action_space.sample())[2]
    with pytest.raises(ResetNeeded, match="the episode ended"):
        env.step(env.action_space.sample())
    assert isinstance(ResetNeeded("x"), gymnasium.error.ResetNeeded)
    env.reset()
    env.step(env.action_space.sample())
    env.close()


def test_bad_actions_name_the_buttons() -> None:
    env = retrotool.make(GAME)
    env.reset()
    with pytest.raises(RetroToolError, match=r"16 flags \(MultiBinary\), one per button of B Y SELECT START"):
        env.step(np.zeros(12))
    with pytest.raises(RetroToolError, match="Test has no button 'JUMP'; its buttons are B Y SELECT"):
        env.step(["JUMP"])
    obs, *_ = env.step(["RIGHT", "B"])  # names are fine
    env.close()


def test_a_restricting_scenario_refuses_raw_multibinary(tmp_path: Path) -> None:
    scenario = tmp_path / "restricted.json"
    scenario.write_text(json.dumps({"actions": [[[], ["LEFT"], ["RIGHT"]], [[], ["B"]]]}))
    with pytest.raises(RetroToolError, match="restricts actions.*Actions.ALL.*Actions.FILTERED"):
        retrotool.make(GAME, scenario=str(scenario), use_restricted_actions=retrotool.Actions.ALL)
    env = retrotool.make(GAME, scenario=str(scenario), use_restricted_actions=retrotool.Actions.DISCRETE)
    assert env.action_space.n == 6
    env.close()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"players": 3}, "Test has 2 pads"), ({"frameskip": 0}, "frameskip must be 1 or more"),
    ({"obs_type": "depth"}, "obs_type='depth' is not one of: rgb, ram"),
    ({"render_mode": "ansi"}, "render_mode='ansi'"), ({"state": "Nowhere"}, "has no state 'Nowhere'"),
    ({"record": "/nonexistent/folder"}, "no such folder"),
])
def test_bad_arguments_say_what_is_wrong(kwargs: dict, message: str) -> None:
    with pytest.raises(RetroToolError, match=message):
        RetroEnv(GAME, **kwargs)


def test_an_unknown_game_suggests_close_names() -> None:
    with pytest.raises(RetroToolError, match="did you mean TestGame-Test"):
        retrotool.make("TestGame")


def test_without_gymnasium_make_names_the_extra(python_json) -> None:  # type: ignore[no-untyped-def]
    code = ("import json, sys\nsys.modules['gymnasium'] = None\nimport retrotool\n"
            "try:\n    retrotool.make('TestGame-Test')\nexcept Exception as e:\n    print(json.dumps(str(e)))")
    assert python_json(code) == "retrotool.make and make_vec need Gymnasium: pip install 'retrotool[gym]'"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_vec_records_each_env_into_its_own_folder(tmp_path: Path, mode: str) -> None:
    vec = retrotool.make_vec(GAME, 2, mode=mode, record=tmp_path)
    vec.reset(seed=0)
    for _ in range(5):
        vec.step(np.zeros((2, 16), np.uint8))
    vec.close()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.bk2")) == [
        "env000/TestGame-Test-Start-000000.bk2", "env001/TestGame-Test-Start-000000.bk2"]


def test_async_envs_shared_out_unevenly_act_as_one_vector_env() -> None:
    """Three envs in two worker processes: the same results as in one, masks, attributes and errors included."""
    vec = retrotool.make_vec(GAME, 3, mode="async", processes=2)
    ref = retrotool.make_vec(GAME, 3, mode="sync")
    try:
        assert vec.observation_space == ref.observation_space and vec.action_space == ref.action_space
        obs, _ = vec.reset(seed=0)
        assert np.array_equal(obs, ref.reset(seed=0)[0])
        kept = obs
        for batch in _actions(ref, 40, seed=3):
            got, want = vec.step(batch), ref.step(batch)
            assert np.array_equal(got[0], want[0]) and all(np.array_equal(g, w) for g, w in zip(got[1:4], want[1:4]))
            assert got[4].keys() == want[4].keys() and all(np.array_equal(got[4][k], want[4][k]) for k in got[4])
        assert not np.array_equal(kept, got[0]) and np.array_equal(kept, ref.reset(seed=0)[0])  # never overwritten
        obs, _ = vec.reset(options={"reset_mask": np.array([False, False, True])})  # only the second worker's env
        assert np.array_equal(obs[:2], got[0][:2]) and np.array_equal(obs[2], kept[2])
        assert vec.get_attr("gamename") == ("TestGame-Test",) * 3
        vec.set_attr("tag", [1, 2, 3])
        assert vec.get_attr("tag") == (1, 2, 3)
        with pytest.raises(RetroToolError, match="an action must be 16 flags"):
            vec.step(np.zeros((3, 5), np.uint8))
        assert vec.step(np.zeros((3, 16), np.uint8))[0].shape == obs.shape  # still answering, in step
    finally:
        vec.close()
        ref.close()
    vec.close()  # closing twice does nothing


def test_closing_after_a_worker_died_is_quiet() -> None:
    """Ctrl-C reaches every process of the terminal: a worker may be gone when the parent closes."""
    import multiprocessing

    vec = retrotool.make_vec(GAME, 2, mode="async", processes=2)
    vec.reset(seed=0)
    workers = [p for p in multiprocessing.active_children() if p.name.startswith("retrotool-env-")]
    assert len(workers) == 2
    workers[0].kill()
    workers[0].join()
    with pytest.raises(RetroToolError, match="worker process died"):
        vec.step(np.zeros((2, 16), np.uint8))
    vec.close()
    assert not [p for p in multiprocessing.active_children() if p.name.startswith("retrotool-env-")]


def test_async_observations_are_lent_never_overwritten_and_outlive_close() -> None:
    """Observations are arrays over shared blocks: one the caller holds (or a view of it) is never written again."""
    from retrotool.env.blocks import LENT

    vec = retrotool.make_vec(GAME, 2, mode="async", processes=2)
    held, copies = [], []
    obs, _ = vec.reset(seed=0)
    for i, batch in enumerate(_actions(vec, 3 * LENT, seed=5)):
        if i % 2 == 0:  # hold every other one, some only through a view: more than there are blocks
            held.append(obs if i % 4 else obs[1])
            copies.append(held[-1].copy())
        obs = vec.step(batch)[0]
    vec.close()
    assert all(np.array_equal(h, c) for h, c in zip(held, copies))
    assert obs.sum() >= 0 and not [n for n in os.listdir("/dev/shm") if n.startswith("psm_")]  # readable; unlinked

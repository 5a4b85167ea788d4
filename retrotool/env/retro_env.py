"""`RetroEnv`: a Gymnasium environment that behaves as stable-retro's, on retrotool's session and replay loop.

Same arguments, spaces, observations, rewards, done flags and infos as
stable-retro's `RetroEnv` for the common uses, so a script written for it
runs by changing its import (`import retrotool as retro`). The frames are
stable-retro's too: making the env runs the two frames its `make()` runs and
loads the state; `reset()` loads the state again and runs one frame with no
button held (its observation is what `reset()` returns, with an empty info);
each `step()` runs `frameskip` frames with the action's buttons.

Where it differs, on purpose:
- `render_mode` defaults to None (stable-retro opens a window by default);
- stepping after an episode ended, without `reset()`, is refused (Gymnasium's rule);
- from power-on (`State.NONE`), every `reset()` powers the game on again
  (stable-retro's would go on from where the last episode stopped);
- a scenario that restricts actions refuses raw `Actions.ALL` (the restriction would be ignored);
- an action may also name buttons (`["RIGHT", "B"]`), and the errors say what a valid action is;
- `frameskip=K` runs K frames per step in one C call and converts one picture.

`record=DIR` (or True: the current folder) records each episode as a movie
in stable-retro's dialect, named as stable-retro names them, written and
verified by a replay when the episode ends (`reset()` or `close()`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces

from retrotool import games, session
from retrotool.emulator import Emulator, Rom
from retrotool.env import options
from retrotool.env.actions import ActionMap, Actions, action_mode, combo_groups
from retrotool.env.options import Observations, State
from retrotool.env.stepper import MovieTarget, Stepper, StepSink
from retrotool.errors import ContentError, RetroToolError


class ResetNeeded(RetroToolError, gymnasium.error.ResetNeeded):
    """`step()` before `reset()`, or after the episode ended."""


class RetroEnv(gymnasium.Env[np.ndarray, Any]):
    """One game in one emulator. See the module docstring; arguments as stable-retro's `retro.make`."""

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 60.0}

    def __init__(
        self, game: str, state: object = State.DEFAULT, scenario: str | None = None, info: str | None = None,
        use_restricted_actions: object = Actions.FILTERED, record: bool | str | os.PathLike[str] = False,
        players: int = 1, inttype: object = None, obs_type: object = Observations.IMAGE,
        render_mode: str | None = None, *, frameskip: int = 1, core: str | os.PathLike[str] | None = None,
        verify: bool = True,
    ) -> None:
        _check_arguments(players, frameskip, render_mode)
        found = games.find(game)
        rom = found.rom()
        if rom is None:
            raise ContentError(f"the ROM of {found.name} is not imported; run `retrotool import DIR` on your ROMs")
        self.gamename, self.players, self.render_mode, self.frameskip = found.name, players, render_mode, frameskip
        self.system, self.buttons = found.system.name, list(found.system.sr_pad)
        self.num_buttons = len(self.buttons)
        self._start = options.start(found, state, players)
        self.statename = self._start.name
        evaluator, rules = options.evaluator(found, scenario, info)
        self.use_restricted_actions = action_mode(use_restricted_actions)
        self._actions = _action_map(found, self.use_restricted_actions, rules, players)
        self.action_space = self._actions.space
        self._ram_obs = options.observation_kind(obs_type) == Observations.RAM
        content = session.Content(found.system, Rom.read(rom), found.name, self._start.state, game=found)
        self.em: Emulator = session.open_session(content, core, players=players)
        try:
            self._setup(rules.crop if rules is not None else None, evaluator, _record_folder(record), rom, verify)
        except BaseException:
            self.em.close()
            raise

    def _setup(self, crop: tuple[int, int, int, int] | None, evaluator: Any, folder: Path | None, rom: Path,
               verify: bool) -> None:
        width, height = self.em.obs_size
        self._crop = _crop_slices(crop, width, height)
        self._cropped = crop is not None
        if self._ram_obs:
            shape: tuple[int, ...] = (int(self.em.obs_ram().size),)
        else:
            shape = (len(range(height)[self._crop[0]]), len(range(width)[self._crop[1]]), 3)
        self.observation_space = spaces.Box(0, 255, shape, np.uint8)
        self.metadata = {**self.metadata, "render_fps": self.em.av_info.fps}
        target = MovieTarget(folder, self.gamename, self.statename, rom, verify) if folder is not None else None
        self._stepper = Stepper(self.em, StepSink(evaluator, self._ram_obs), players=self.players,
                                frameskip=self.frameskip, state=self._start.state, game=self.gamename, target=target)
        self._episode_started = False  # the emulator is at the start already (make() ran its frames)
        self._needs_reset = True
        self._closed = False
        self._last: np.ndarray | None = None
        self._display: Any = None

    # -- Gymnasium ------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Back to the start (the state, or power-on), then the frame stable-retro's reset() runs."""
        super().reset(seed=seed)
        if self._episode_started:
            self._stepper.end()
            if self._start.state is not None:
                self.em.set_state(self._start.state)
            else:
                session.load_start(self.em, None)
        self._episode_started = True
        observation = self._observe(self._stepper.begin())
        self._needs_reset = False
        if self.render_mode == "human":
            self.render()
        return observation, {}

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """`frameskip` frames with the action's buttons: observation, reward, terminated, truncated (False), info."""
        if self._needs_reset:
            what = "the episode ended" if self._episode_started else "the env was made"
            raise ResetNeeded(f"call reset() before step(): {what} and no episode is running")
        observation = self._observe(self._stepper.step(*self._actions.encode(action)))
        sink = self._stepper.sink
        self._needs_reset = sink.done
        if self.render_mode == "human":
            self.render()
        return observation, sink.reward, sink.done, False, sink.info

    def render(self) -> Any:
        """rgb_array: the picture of the last frame; human: show it in a window."""
        picture = self._last if self._last is not None and not self._ram_obs else self.get_screen()
        if self.render_mode == "human":
            self._show(picture)
            return None
        return picture

    def close(self) -> None:
        """Write the episode's movie (when recording) and free the emulator; closing twice does nothing."""
        if getattr(self, "_stepper", None) is not None and not self._closed:
            self._closed = True
            try:
                self._stepper.end()
            finally:
                self.em.close()
        if getattr(self, "_display", None) is not None:
            self._display.close()
            self._display = None

    # -- stable-retro's helpers ---------------------------------------------------------
    def get_screen(self, player: int = 0) -> np.ndarray:
        """The observation picture now (stable-retro's get_screen, with the scenario's crop)."""
        return self.em.obs_screen()[self._crop]

    def get_ram(self) -> np.ndarray:
        """The RAM observation now (stable-retro's get_ram)."""
        return self.em.obs_ram()

    def get_action_meaning(self, action: Any) -> list[str] | list[list[str]]:
        return self._actions.meaning(action)

    @property
    def movies(self) -> list[Path]:
        """The movies recorded so far (with `record=`)."""
        return list(self._stepper.movies)

    # -- inside ------------------------------------------------------------------------
    def _observe(self, observation: np.ndarray) -> np.ndarray:
        if not self._ram_obs:
            if self._cropped:
                observation = observation[self._crop]
            self._last = observation
        return observation

    def _show(self, picture: np.ndarray) -> None:
        if self._display is None:
            from retrotool.view.display import Display, load_pygame

            pg = load_pygame("view", "render_mode='human'")
            self._display = Display(pg, f"retrotool: {self.gamename}", None, self.em.av_info.aspect_ratio)
            self._display.open()
        self._display.pg.event.pump()
        self._display.show(picture)


def _check_arguments(players: int, frameskip: int, render_mode: str | None) -> None:
    if not isinstance(players, int) or players < 1:
        raise RetroToolError(f"players must be 1 or more, not {players!r}")
    if not isinstance(frameskip, int) or frameskip < 1:
        raise RetroToolError(f"frameskip must be 1 or more, not {frameskip!r}")
    if render_mode not in (None, "human", "rgb_array"):
        raise RetroToolError(f"render_mode={render_mode!r} is not one of: None, 'human', 'rgb_array'")


def _action_map(game: games.Game, mode: Actions, rules: Any, players: int) -> ActionMap:
    restricted = rules is not None and rules.actions is not None
    if mode == Actions.ALL and restricted:
        raise RetroToolError(
            f"{rules.source} restricts actions, but use_restricted_actions=Actions.ALL sends raw MultiBinary "
            "actions and would ignore it: pass Actions.FILTERED (MultiBinary, filtered), Actions.DISCRETE or "
            "Actions.MULTI_DISCRETE"
        )
    if players > game.system.max_players:
        raise RetroToolError(f"{game.system.name} has {game.system.max_players} pads; players={players} is too many")
    source = rules.source if restricted else f"{game.system.name}'s default actions"
    groups = combo_groups(game.system, rules.actions if restricted else game.system.actions, source)
    return ActionMap(game.system, mode, groups, players)


def _record_folder(record: bool | str | os.PathLike[str]) -> Path | None:
    if record is False or record is None:
        return None
    folder = Path.cwd() if record is True else Path(record)
    if not folder.is_dir():
        raise RetroToolError(f"record={str(record)!r}: no such folder (movies are written into an existing folder)")
    return folder


def _crop_slices(crop: tuple[int, int, int, int] | None, width: int, height: int) -> tuple[slice, slice]:
    """stable-retro's crop: w or h of 0, or a box past the edge, reaches to the picture's edge."""
    if crop is None:
        return slice(None), slice(None)
    x, y, w, h = crop
    right = width if not w or x + w > width else x + w
    bottom = height if not h or y + h > height else y + h
    return slice(y, bottom), slice(x, right)

"""`retrotool scenario check`: replay a movie against a game's data.json and scenario.json and say how they behave.

The values of every variable after every frame come from a `ValueRecorder`;
rewards and done flags are computed from them by the same `Evaluator` every
replay uses, in stable-retro's order: row 0 of a stable-retro movie is its
reset frame, which is no step, so it earns no reward and cannot end an
episode. Misuse that a replay shows is reported as warnings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrotool import charts, games, movie as bk2, outputs, playback, session
from retrotool.errors import ContentError
from retrotool.ram.recorder import ValueRecorder
from retrotool.variables import Evaluator, Scenario, Variable


@dataclass(frozen=True, slots=True)
class Range:
    """One variable over the movie: where it is, and its values (None: outside the game's RAM)."""

    variable: Variable
    values: np.ndarray | None

    @property
    def changes(self) -> int:
        return 0 if self.values is None else int(np.count_nonzero(np.diff(self.values)))


@dataclass(frozen=True, slots=True)
class Checked:
    game: games.Game
    movie: Path
    rewards: np.ndarray  # float64 [frames]: the reward each row earned (0 on a reset row)
    done: np.ndarray  # bool [frames]
    first_step: int  # 1 when row 0 is stable-retro's reset frame, else 0
    ranges: tuple[Range, ...]
    warnings: tuple[str, ...]
    png: Path | None

    @property
    def total(self) -> float:
        return float(self.rewards.sum())

    @property
    def first_done(self) -> int | None:
        hits = np.flatnonzero(self.done[self.first_step :])
        return int(hits[0]) + self.first_step if hits.size else None


def check(
    game_name: str, path: Path, *, png: Path | None = None, force: bool = False, core: str | None = None,
    rom: Path | None = None, progress: Callable[[int, int], None] | None = None,
) -> Checked:
    """Replay `path` with the game's rules; write the chart when asked."""
    game = games.find(game_name)
    evaluator = game.evaluator()
    if evaluator is None or evaluator.scenario is None:
        missing = "data.json" if evaluator is None else "scenario.json"
        raise ContentError(f"{game.name} has no {missing}: add variables with `retrotool integrate var` and rules with "
                           "`retrotool integrate reward` / `integrate done`")
    if png is not None:
        outputs.check_target(png, force)
        charts.figure_class()
    movie = bk2.read(path)
    content = session.movie_content(movie, path, rom or game.rom())
    recorder = ValueRecorder(evaluator.variables)
    with session.open_session(content, core, players=movie.players) as emulator:
        done = playback.replay_rows(emulator, movie, [recorder], progress=progress)
    values = done.results[0]
    assert isinstance(values, dict), "ValueRecorder returns the values per variable"
    frames = done.info.frames
    rewards, dones = Evaluator(evaluator.variables, evaluator.scenario).steps(values, frames)
    first = 1 if movie.convention == "stable-retro" else 0
    rewards[:first] = 0.0
    ranges = tuple(Range(v, values.get(name)) for name, v in evaluator.variables.items())
    result = Checked(game, path, rewards, dones, first, ranges, (), None)
    warned = warnings(result, evaluator.scenario)
    result = Checked(game, path, rewards, dones, first, ranges, warned, _chart(result, png, force) if png else None)
    return result


def warnings(checked: Checked, scenario: Scenario) -> tuple[str, ...]:
    """Misuse the replay shows: variables outside RAM or never changing, rules on unknown variables, a done at once."""
    out = []
    names = {r.variable.name for r in checked.ranges}
    for r in checked.ranges:
        v = r.variable
        if r.values is None:
            out.append(f"{v.name} ({v.address:#x} {v.type}) is outside this game's RAM: stable-retro leaves it out "
                       "of info, and rules on it always see 0")
        elif len(r.values) > 1 and not r.changes:
            out.append(f"{v.name} never changes in this movie (always {int(r.values[0])}): a wrong address or type, "
                       "or the movie never makes it change")
    for kind, terms in (("reward", scenario.reward_terms), ("done", scenario.done_terms)):
        out += [f"the {kind} rule on {t.variable!r} names no variable of data.json: it always sees 0"
                for t in terms if t.variable not in names]
    if not scenario.reward_terms and not scenario.time_reward:
        out.append("the scenario has no reward rule: every reward is 0")
    elif not checked.rewards[checked.first_step :].any():
        out.append("the reward is 0 at every frame of this movie: no rule ever paid")
    if not scenario.done_terms:
        out.append("the scenario has no done rule: episodes never end")
    elif checked.done.size and checked.done[0]:
        out.append("done already holds at frame 0 (right after reset): every episode from this state ends at its "
                   "first step; check the rule's op and reference")
    return tuple(out)


def _chart(checked: Checked, png: Path, force: bool) -> Path:
    frames = np.arange(checked.rewards.size)
    first = checked.first_done
    marks = [(first, f"first done (frame {first})")] if first is not None else []
    panels = [
        charts.Panel("reward per frame", {"reward": checked.rewards}, marks=marks),
        charts.Panel(f"total reward ({checked.total:g})", {"total": np.cumsum(checked.rewards)}, marks=marks),
        charts.Panel("done", {"done": checked.done.astype(np.int64)}, marks=marks, ticks=((0, "no"), (1, "yes"))),
    ]
    title = f"{checked.game.name}: scenario over {checked.movie.name}"
    return charts.draw(png, frames, panels, title=title, force=force)

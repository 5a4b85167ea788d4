"""Record examples/airstriker.bk2: three minutes of a scripted agent playing Airstriker.

Airstriker is a freeware Genesis shooter; its ROM, Level1 state and RAM variables
ship with stable-retro, so no ROM of your own is needed:

    pip install '.[cores]'
    python examples/record_airstriker.py [-o PATH] [--force] [--seed N]
    retrotool playback examples/airstriker.bk2 && retrotool verify examples/airstriker.bk2

Every 8 frames the agent picks a column (under the lowest enemy, else a seeded
random one), saves the emulator state, plays its intended moves 48 frames ahead
and, if the ship would be hit, tries dodges instead; then it restores the state
and plays 8 frames of the winner. It fires by pulsing B (holding B fires once);
a dodge may hold fire, as the game jams its gun when too many shots fly. Positions
are RAM words found by watching RAM; score and lives come from the integration.
When no ship comes back it presses START, B, B through the title and menus. Row 0
stays released (stable-retro spends it on its reset frame). `jobs.record` then
replays the buttons into the movie, with checkpoints. Seeded: same movie each run.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from retrotool import cores, games
from retrotool.emulator import Emulator
from retrotool.record import scripted
from retrotool.variables import Variable

FRAMES, STEP, LOOKAHEAD = 10_800, 8, 48  # three minutes at 60 fps; frames per decision; frames looked ahead
X_MIN, X_MAX, SPEED, SHIP_Y = 137, 412, 5, 0x136  # RAM coordinates are screen pixels + 128
SHIP_X = Variable("ship_x", 0xFF0268, ">u2")  # the ship's left edge
SHIP_ALIVE = Variable("ship_alive", 0xFF0030, ">u2")  # 0 from a hit to the next ship, and off-game
JAMMED = Variable("jammed", 0xFF026E, ">u2")  # 9 when the gun jammed, until the next ship or level
ENEMY_X = [Variable(f"enemy_x{i}", 0xFF0114 + 2 * i, ">u2") for i in range(11)]  # 0: free slot
ENEMY_Y = [Variable(f"enemy_y{i}", 0xFF012A + 2 * i, ">u2") for i in range(11)]  # 0x174: parked
MOVES = ("NONE", "LEFT", "RIGHT")
RESTART = ("START", "B", "B")  # title -> main menu -> "Start game" -> "Single Player"


class Agent:
    """Plays on one emulator and keeps the joypad mask of every frame it played."""

    def __init__(self, emu: Emulator, game: games.Game, seed: int) -> None:
        self.emu, self.rng, self.space = emu, np.random.default_rng(seed), emu.address_space()
        evaluator = game.evaluator()
        if evaluator is None:
            raise SystemExit(f"{game.name} has no data.json: score and lives are unknown")
        self.evaluator = evaluator
        self.bit = {name: 1 << i for name, i in zip(game.system.buttons, game.system.joypad_ids)}
        self.masks: list[int] = []
        self.target, self.retarget, self.dead_for = 270, 0, 0
        self.lost = self.won = self.games = 0  # ships lost, games won, games started again
        self.play(np.zeros((1, 1), np.uint16))  # row 0: released

    def value(self, v: Variable) -> int:
        return v.read(self.space) or 0

    def plan(self, moves: list[str], fire: bool = True) -> np.ndarray:
        """Masks from the next frame on: one move a frame, B pulsed 4 on / 4 off (not in the
        first STEP frames unless `fire`)."""
        rows = np.arange(len(self.masks), len(self.masks) + len(moves))
        pulse = (rows % 8 < 4) & (fire | (rows >= len(self.masks) + STEP))
        bits = [self.bit.get(m, 0) for m in moves]
        return (np.where(pulse, self.bit["B"], 0) | bits).astype(np.uint16)[:, None]

    def play(self, masks: np.ndarray) -> None:
        for row in masks[: FRAMES - len(self.masks)]:
            self.emu.run(row[None])
            self.masks.append(int(row[0]))

    def try_out(self, moves: list[str], fire: bool) -> int:
        """Frames the ship lives without jamming its gun under `moves`; the state is restored."""
        state, jammed, lived, masks = self.emu.get_state(), self.value(JAMMED), 0, self.plan(moves, fire)
        while (fine := self.value(SHIP_ALIVE) and self.value(JAMMED) == jammed) and lived < len(masks):
            self.emu.run(masks[lived : lived + 4])
            lived += 4
        self.emu.set_state(state)
        return lived if fine else lived - 4

    def choose(self) -> tuple[list[str], bool]:
        """The next STEP frames: towards the target column if safe, else the best dodge."""
        x = self.value(SHIP_X)
        enemies = [(self.value(vy), self.value(vx)) for vx, vy in zip(ENEMY_X, ENEMY_Y)]
        enemies = sorted((y, ex) for y, ex in enemies if ex and 128 <= y < SHIP_Y)
        if enemies:  # under the lowest enemy
            self.target = enemies[-1][1]
        elif len(self.masks) >= self.retarget or abs(x - self.target) < SPEED:  # wander
            self.target = int(self.rng.integers(X_MIN, X_MAX))
            self.retarget = len(self.masks) + int(self.rng.integers(60, 180))
        steps = min(LOOKAHEAD, round(abs(self.target - x) / SPEED))
        heading = ["LEFT" if self.target < x else "RIGHT"] * steps + ["NONE"] * (LOOKAHEAD - steps)
        dodges = [[a] * STEP + [b] * (LOOKAHEAD - STEP) for a in MOVES for b in MOVES]
        best, best_lived = (heading, True), -1
        for moves, fire in [best, *((m, f) for f in (True, False) for m in dodges)]:
            lived = self.try_out(moves, fire)
            if lived >= LOOKAHEAD:
                return moves[:STEP], fire
            if lived > best_lived:
                best, best_lived = (moves, fire), lived
        return best[0][:STEP], best[1]

    def step(self) -> None:
        """Decide and play the next STEP frames."""
        if self.value(SHIP_ALIVE):
            self.lost += 0 < self.dead_for <= 160  # a new ship (a level change takes one frame)
            self.games += self.dead_for > 160  # back from the title screen
            self.dead_for = 0
            self.play(self.plan(*self.choose()))
            return
        self.dead_for += STEP  # exploding (about 80 frames), or off-game
        if self.dead_for == 168:  # no new ship: game over, or the last level won
            lives = self.evaluator.info(self.space)["lives"]  # game over: 0
            self.lost, self.won = self.lost + (lives == 0), self.won + (lives != 0)
        masks = np.zeros((STEP, 1), np.uint16)
        if self.dead_for > 160 and self.dead_for % 32 == 0:
            masks[:4] = self.bit[RESTART[self.dead_for // 32 % 3]]
        self.play(masks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--out", type=Path, default=Path(__file__).with_name("airstriker.bk2"))
    parser.add_argument("--force", action="store_true", help="overwrite an existing movie")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the wandering targets")
    args = parser.parse_args()
    if args.out.exists() and not args.force:
        parser.error(f"{args.out} already exists; pass --force to overwrite it")

    game = games.find("Airstriker-Genesis")  # stable-retro's integration
    rom, start = game.rom(), game.state()
    if rom is None:
        raise SystemExit("Airstriker's ROM is missing: install stable-retro (pip install '.[cores]')")
    with Emulator(cores.for_system(game.system).path, rom, system=game.system, ports=1) as emu:
        emu.set_state(start)
        agent = Agent(emu, game, args.seed)
        while len(agent.masks) < FRAMES:
            agent.step()
        played = hashlib.sha256(emu.ram.tobytes()).hexdigest()
        print(f"played {FRAMES} frames: score {agent.evaluator.info(agent.space)['score']}, "
              f"{agent.lost} ships lost, {agent.won} games won, {agent.games} games started again")

    buttons = game.system.from_masks(np.array(agent.masks, np.uint16))[:, None, :]
    result = scripted.record(system=game.system, core=None, rom=rom, buttons=buttons, out=args.out,
                         start=start, game=game.name, force=args.force)
    if result.ram_sha256 != played:
        raise SystemExit("the recording ended elsewhere than the play: is the core deterministic?")
    print(f"wrote {args.out}: {result.frames} frames, {result.checkpoints} checkpoints, "
          f"{args.out.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()

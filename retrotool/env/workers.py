"""`make_vec(mode="async")`: n envs shared out among a few worker processes, one VectorEnv to the caller.

stable-retro needs a process per emulator; ours do not (each emulator loads
a private copy of its core), so a worker process steps its share of the
envs in a batch (`_SyncVectorEnv`) and the processes run in parallel. With
one process per CPU, eight envs on two CPUs are two processes of four
instead of eight of one: a quarter of the messages and of the context
switches, which on a small machine cost as much as the emulation
(benchmarks/RESULTS.md, "Gymnasium envs"). `processes=n` gives a process per
env.

Each worker writes its envs' observations into a shared memory block
([n, *observation shape], its rows at its share's place) the parent names
with each command; the parent sends the actions, gets back the rewards,
flags and infos (small lists) and returns an array over the block itself
(blocks.py: a block is written again only once that array is gone).
Autoreset is each worker's `_SyncVectorEnv`'s: Gymnasium's default, the next
step resets.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Callable, Sequence
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import gymnasium
import numpy as np
from gymnasium.vector import VectorEnv
from gymnasium.vector.utils import batch_space

from retrotool.env.blocks import Blocks
from retrotool.errors import RetroToolError

DIED = "an env worker process died (see the messages above); close() the vector env and make a new one"
CLOSE_SECONDS = 60  # a worker closing its envs (writing and verifying their last movies) may take this long to answer
EnvFn = Callable[[], gymnasium.Env[Any, Any]]
Make = Callable[[list[EnvFn]], Any]  # envs -> a sync VectorEnv of them (in the worker)


class WorkerVectorEnv(VectorEnv):  # type: ignore[type-arg]
    """`fns` shared out in contiguous runs among `processes` worker processes."""

    def __init__(self, fns: Sequence[EnvFn], processes: int, make: Make, context: str | None = None) -> None:
        if not 1 <= processes <= len(fns):
            raise RetroToolError(f"make_vec needs 1 to {len(fns)} processes for {len(fns)} envs, not {processes}")
        self.num_envs = len(fns)
        bounds = np.linspace(0, len(fns), processes + 1).round().astype(int)
        self._shares = list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))
        ctx: Any = multiprocessing.get_context(context)
        # one resource tracker for the parent and its workers, started before them: a worker that started its
        # own (forked before there was one) would unlink the shared block when it ends (CPython bpo-38119)
        resource_tracker.ensure_running()
        self._conns: list[Connection] = []
        self._procs: list[Any] = []
        self._blocks: Blocks | None = None
        self._dead = False  # a worker died: every command but close() fails
        self.closed = False
        try:
            for a, b in self._shares:
                mine, theirs = ctx.Pipe()
                proc = ctx.Process(target=_work, args=(theirs, list(fns[a:b]), make), daemon=True,
                                   name=f"retrotool-env-{a}-{b - 1}")
                proc.start()
                theirs.close()
                self._conns.append(mine)
                self._procs.append(proc)
            spaces = [self._receive(conn) for conn in self._conns]
            self.single_observation_space, self.single_action_space, self.metadata, self.render_mode = spaces[0]
            self.observation_space = batch_space(self.single_observation_space, self.num_envs)
            self.action_space = batch_space(self.single_action_space, self.num_envs)
            shape, dtype = _layout(self.single_observation_space)
            self._blocks = Blocks((self.num_envs, *shape), dtype)
            for conn, (a, b) in zip(self._conns, self._shares):
                conn.send((self._blocks.names, a, b))
            for conn in self._conns:
                self._receive(conn)
        except BaseException:
            self.close()
            raise

    def reset(self, *, seed: int | list[int | None] | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else seed
        if seeds is not None and len(seeds) != self.num_envs:
            raise ValueError(f"seed: a list of {self.num_envs} seeds (one per env), not {len(seeds)}")
        options = dict(options or {})
        mask = options.pop("reset_mask", None)
        if mask is not None and (not isinstance(mask, np.ndarray) or mask.shape != (self.num_envs,) or not mask.any()):
            raise ValueError(f"options['reset_mask'] must be a bool array of shape ({self.num_envs},) with a True")
        blocks = self._live_blocks()
        target = blocks.pick()
        if mask is not None and target != blocks.current:  # the envs not reset show what they showed
            blocks.view(target)[...] = blocks.view(blocks.current)
        sent = []
        for conn, (a, b) in zip(self._conns, self._shares):
            part = dict(options)
            if mask is not None:
                if not np.any(mask[a:b]):
                    continue  # none of this worker's envs resets
                part["reset_mask"] = mask[a:b]
            self._send(conn, ("reset", ({"seed": seeds[a:b] if seeds is not None else None, "options": part}, target)))
            sent.append((conn, b - a, a))
        answers = self._answers([conn for conn, _, _ in sent])
        infos = [(info, k, a) for info, (_, k, a) in zip(answers, sent)]
        return blocks.lend(target), _merged(infos, self.num_envs)

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        blocks = self._live_blocks()
        target = blocks.pick()
        for conn, (a, b) in zip(self._conns, self._shares):
            self._send(conn, ("step", (actions[a:b], target)))
        results = self._answers(self._conns)
        rewards = np.array([x for r in results for x in r[0]], np.float64)
        terminated, truncated = (np.array([x for r in results for x in r[i]], np.bool_) for i in (1, 2))
        infos = [(r[3], b - a, a) for r, (a, b) in zip(results, self._shares)]
        return blocks.lend(target), rewards, terminated, truncated, _merged(infos, self.num_envs)

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Call (or read) `name` on every env, as Gymnasium's vector envs do."""
        for conn in self._conns:
            self._send(conn, ("call", (name, args, kwargs)))
        return tuple(x for answer in self._answers(self._conns) for x in answer)

    def get_attr(self, name: str) -> tuple[Any, ...]:
        return self.call(name)

    def set_attr(self, name: str, values: Any) -> None:
        each = values if isinstance(values, (list, tuple)) else [values] * self.num_envs
        for conn, (a, b) in zip(self._conns, self._shares):
            self._send(conn, ("set_attr", (name, each[a:b])))
        self._answers(self._conns)

    def close_extras(self, **kwargs: Any) -> None:
        """Close every env (each writes its last movie when recording), then the workers and the shared memory."""
        for conn in self._conns:
            try:
                conn.send(("close", None))
            except OSError:
                pass  # a worker that died: nothing to close there
        errors = []
        for conn, proc in zip(self._conns, self._procs):
            errors += _drained(conn)
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
            conn.close()
        self._conns, self._procs = [], []
        if self._blocks is not None:
            self._blocks.unlink()
            self._blocks = None
        if errors:  # what a worker said while closing (a movie that failed to write or verify)
            raise RetroToolError(errors[0])

    def _answers(self, conns: list[Connection]) -> list[Any]:
        """Every worker's answer (all taken, so none is left for the next command), then the first error raised."""
        answers, error = [], None
        for conn in conns:
            try:
                answers.append(self._receive(conn))
            except RetroToolError as e:
                error = error or e
                answers.append(None)
        if error is not None:
            raise error
        return answers

    def _live_blocks(self) -> Blocks:
        if self._blocks is None:
            raise RetroToolError("this vector env is closed")
        return self._blocks

    def _send(self, conn: Connection, command: tuple[str, Any]) -> None:
        if self._dead:
            raise RetroToolError(DIED)
        try:
            conn.send(command)
        except OSError:
            self._dead = True  # the others may hold answers now: only close() is left, and it reads them
            raise RetroToolError(DIED) from None

    def _receive(self, conn: Connection) -> Any:
        try:
            kind, value = conn.recv()
        except EOFError:
            self._dead = True
            raise RetroToolError(DIED) from None
        if kind == "error":
            raise RetroToolError(value)
        return value


def _drained(conn: Connection) -> list[str]:
    """The errors a closing worker reports, read until it has gone (an answer left by an interrupted step is skipped).

    A worker that died first (Ctrl-C reaches every process of the terminal) says nothing: no error.
    """
    errors = []
    try:
        while conn.poll(CLOSE_SECONDS):
            kind, value = conn.recv()
            if kind == "error":
                errors.append(str(value))
    except (EOFError, OSError):
        pass  # gone: all it had to say is read
    return errors


def _plain(result: tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]) -> tuple[Any, ...]:
    """A step's small arrays as lists: they pickle and unpickle in a fraction of an array's time (every step)."""
    rewards, terminated, truncated, infos = result
    return (rewards.tolist(), terminated.tolist(), truncated.tolist(),
            {k: v.tolist() if isinstance(v, np.ndarray) and v.dtype != object else v for k, v in infos.items()})


def _layout(space: gymnasium.Space[Any]) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """An observation's shape and type (a retrotool env's is a Box of uint8: a picture or the RAM)."""
    if space.shape is None or space.dtype is None:
        raise RetroToolError(f"make_vec(mode='async') needs observations of a fixed shape and type, not {space}")
    return space.shape, space.dtype


def _merged(parts: list[tuple[dict[str, Any], int, int]], n: int) -> dict[str, Any]:
    """The workers' batched infos (each of k envs from index a) as one, with `_key` marking the envs that have it."""
    out: dict[str, Any] = {}
    for info, k, a in parts:
        for key, value in info.items():
            if key.startswith("_"):
                continue
            if key not in out:
                out[key] = np.zeros(n, np.asarray(value).dtype)
                out[f"_{key}"] = np.zeros(n, np.bool_)
            out[key][a : a + k] = value
            out[f"_{key}"][a : a + k] = info.get(f"_{key}", True)
    return out


def _work(conn: Connection, fns: list[EnvFn], make: Make) -> None:
    """A worker: makes its envs, then answers the parent's commands until told to close."""
    vec: Any = None
    memories: list[SharedMemory] = []
    mine: list[np.ndarray] = []  # this worker's rows of each block
    try:
        vec = make(fns)
        gc.freeze()  # what exists now (modules, the cores' objects) is never collected again: no long pauses in steps
        conn.send(("ok", (vec.single_observation_space, vec.single_action_space, vec.metadata, vec.render_mode)))
        names, a, b = conn.recv()
        shape, dtype = _layout(vec.single_observation_space)
        row = int(np.prod(shape)) * dtype.itemsize
        for name in names:
            memories.append(SharedMemory(name=name))
            mine.append(np.ndarray((b - a, *shape), dtype, buffer=memories[-1].buf, offset=a * row))
        conn.send(("ok", None))
        while _answer(conn, vec, mine):
            pass
    except KeyboardInterrupt:
        pass  # the parent was interrupted too: it closes what it can
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which raises it
        _report(conn, e)
    finally:
        if vec is not None:
            vec.close()  # once: closing again does nothing
        mine.clear()  # a shared block cannot close while an array still points into it
        for memory in memories:
            memory.close()


def _answer(conn: Connection, vec: Any, mine: list[np.ndarray]) -> bool:
    """Carry out one command of the parent's; False after `close`. A failed command is answered with its error."""
    command, arg = conn.recv()
    try:
        if command == "step":
            actions, target = arg
            vec.out = mine[target]  # observations stacked straight into the block
            obs, rewards, terminated, truncated, infos = vec.step(actions)
            if obs is not mine[target]:
                mine[target][...] = obs
            conn.send(("ok", _plain((rewards, terminated, truncated, infos))))
        elif command == "reset":
            kwargs, target = arg
            obs, infos = vec.reset(**kwargs)
            mine[target][...] = obs
            conn.send(("ok", infos))
        elif command == "call":
            name, args, kwargs = arg
            conn.send(("ok", vec.call(name, *args, **kwargs)))
        elif command == "set_attr":
            vec.set_attr(*arg)
            conn.send(("ok", None))
        else:  # close
            vec.close()
            conn.send(("ok", None))
            return False
    except Exception as e:  # noqa: BLE001 - the parent raises it; the envs stay usable, as in one process
        _report(conn, e)
    return True


def _report(conn: Connection, error: BaseException) -> None:
    try:
        conn.send(("error", str(error) if isinstance(error, RetroToolError) else f"{type(error).__name__}: {error}"))
    except OSError:
        pass  # the parent is gone

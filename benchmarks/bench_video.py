"""Rendering speed and memory: `retrotool playback --mp4` against stable-retro's playback_movie.

Both render the same Airstriker movie (Genesis, genesis_plus_gx, from the
Level1 state, recorded here with retrotool's jobs.record) to an MP4 with
sound, alternately, for several rounds, each as a fresh command as a user
would run it, so start-up and movie loading count for both. stable-retro's
script needs a display and an `ffmpeg` on PATH: the benchmark starts Xvfb
and gives it the same ffmpeg binary retrotool uses (imageio-ffmpeg's).
retrotool's replay rates (headless, and with video but no encoder) are the
ceiling a render can reach.

A long render (default: one hour of the test core, 215,723 frames) runs in a
child process to report its peak RSS and the audio/video drift at the end.

    python benchmarks/bench_video.py [--frames N] [--rounds R] [--long-frames N] [--no-results]

Results are appended to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
from bench_replay import airstriker

from retrotool import movie as bk2, systems
from retrotool.emulator import Emulator
from retrotool.record import scripted
from retrotool.record.sources import random_buttons
from retrotool.replay import ArraySource, replay
from retrotool.session import load_start
from retrotool.sinks.contract import FrameBatch, Needs, ReplayInfo

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GAME = "Airstriker-Genesis-v0"

LONG_CHILD = """
import os, resource, sys, threading, time
from pathlib import Path
from retrotool.video import render
from retrotool.record import scripted

peak = {"ffmpeg": 0}

def watch():  # ffmpeg's own high-water mark (VmHWM: after its exec, unlike getrusage's children figure)
    while True:
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            except OSError:
                continue
            if int(fields.get("PPid", "0")) == os.getpid() and "ffmpeg" in fields.get("Name", ""):
                peak["ffmpeg"] = max(peak["ffmpeg"], int(fields.get("VmHWM", "0 kB").split()[0]))
        time.sleep(0.5)

threading.Thread(target=watch, daemon=True).start()
t0 = time.perf_counter()
r = render.render(Path(sys.argv[1]), render.Targets(mp4=Path(sys.argv[2])))
seconds = time.perf_counter() - t0
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(r.frames, r.audio_samples, f"{seconds:.2f}", f"{me:.1f}", f"{peak['ffmpeg'] / 1024:.1f}")
"""


class NullVideo:
    """Asks the loop for video and audio and drops them: the ceiling of any render."""

    def needs(self, frames: int) -> Needs:
        return Needs(video=True, audio=True)

    def open(self, info: ReplayInfo) -> None:
        pass

    def consume(self, batch: FrameBatch) -> None:
        pass

    def close(self, error: BaseException | None) -> None:
        pass


def record_airstriker(workdir: Path, frames: int) -> tuple[Path, Path]:
    found = airstriker()
    if found is None:
        sys.exit("this benchmark needs the `cores` extra (stable-retro with genesis_plus_gx and Airstriker)")
    core, rom, state = found
    genesis = systems.get("Genesis")
    buttons = random_buttons(genesis, frames, 1, seed=21)
    buttons[0] = 0  # stable-retro spends row 0 on its reset frame, without input
    movie = workdir / "air.bk2"
    scripted.record(system=genesis, core=str(core), rom=rom, buttons=buttons, out=movie,
                start=gzip.decompress(state.read_bytes()), game=GAME)
    return movie, rom


def replay_rates(movie_path: Path, rom: Path, rounds: int) -> tuple[float, float]:
    """retrotool's loop alone, best of `rounds`: (headless fps, fps with video + audio to a null sink)."""
    movie = bk2.read(movie_path)
    found = airstriker()
    assert found is not None
    best = [0.0, 0.0]
    for _ in range(rounds):
        for i, sinks in enumerate(([], [NullVideo()])):
            with Emulator(found[0], rom, system=systems.get("Genesis"), ports=1) as emu:
                load_start(emu, movie.state)
                t0 = time.perf_counter()
                replay(emu, ArraySource(movie.buttons), sinks, reset_row=True)
                best[i] = max(best[i], movie.frames / (time.perf_counter() - t0))
    return best[0], best[1]


def timed(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return seconds


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    if shutil.which("Xvfb") is None:
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            sys.exit("stable-retro's script needs a display: install Xvfb (apt-get install -y xvfb)")
        print("installing Xvfb (apt-get install -y xvfb) for stable-retro's script ...")
        subprocess.run(["apt-get", "install", "-y", "-qq", "xvfb"], check=True, capture_output=True)
    proc = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    return proc, ":" + proc.stdout.readline().decode().strip()


def compare(workdir: Path, movie: Path, rounds: int) -> dict[str, list[float]]:
    """Wall seconds per round of each command on the same movie."""
    bindir = workdir / "bin"
    bindir.mkdir()
    (bindir / "ffmpeg").symlink_to(imageio_ffmpeg.get_ffmpeg_exe())
    xvfb, display = start_xvfb()
    sr_env = {**os.environ, "DISPLAY": display, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    times: dict[str, list[float]] = {"retrotool": [], "stable-retro": []}
    try:
        for _ in range(rounds):
            times["retrotool"].append(timed(
                [sys.executable, "-m", "retrotool", "playback", movie.name, "--mp4", "rt.mp4", "--force"], workdir))
            (workdir / "air.mp4").unlink(missing_ok=True)
            times["stable-retro"].append(timed(
                [sys.executable, "-m", "stable_retro.scripts.playback_movie", movie.name], workdir, sr_env))
    finally:
        xvfb.kill()
        xvfb.wait()
    return times


def long_render(workdir: Path, frames: int) -> dict[str, float]:
    """Render a long test-core movie in a child process: speed, peak RSS, drift at the end."""
    rom = workdir / "testgame.tst"
    rom.write_bytes((ROOT / "examples" / "testgame.tst").read_bytes())
    movie = workdir / "long.bk2"
    scripted.record(system=systems.get("Test"), core=None, rom=rom,
                buttons=random_buttons(systems.get("Test"), frames, 1, seed=8), out=movie)
    out = workdir / "long.mp4"
    proc = subprocess.run([sys.executable, "-c", LONG_CHILD, str(movie), str(out)],
                          capture_output=True, text=True, check=True)
    encoded, samples, seconds, rss, ffmpeg_rss = proc.stdout.split()
    video_end, audio_end = stream_ends(out)
    return {
        "frames": int(encoded), "fps": int(encoded) / float(seconds), "rss": float(rss),
        "ffmpeg_rss": float(ffmpeg_rss), "drift_frames": (audio_end - video_end) * 59.922743,
        "samples_exact": float(int(samples) == frames * 44100000000 // 59922743),
    }


def stream_ends(path: Path) -> tuple[float, float]:
    """End times (seconds) of the video and audio streams, from the MP4's own packet timestamps."""
    text = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0", "-c", "copy",
         "-f", "framemd5", "-"], capture_output=True, text=True, check=True,
    ).stdout
    bases = {int(s): (int(n), int(d)) for s, n, d in re.findall(r"^#tb (\d+): (\d+)/(\d+)$", text, re.MULTILINE)}
    ends = {0: 0, 1: 0}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            fields = [f.strip() for f in line.split(",")]
            ends[int(fields[0])] = max(ends[int(fields[0])], int(fields[2]) + int(fields[3]))
    return tuple(ends[s] * bases[s][0] / bases[s][1] for s in (0, 1))  # type: ignore[return-value]


def report(frames: int, times: dict[str, list[float]], ceiling: tuple[float, float], long: dict[str, float]) -> str:
    rt, sr = statistics.median(times["retrotool"]), statistics.median(times["stable-retro"])
    rounds = len(times["retrotool"])
    hours = long["frames"] / 59.922743 / 3600
    return "\n".join([
        (f"Airstriker (Genesis, genesis_plus_gx), {frames:,}-frame movie to MP4 with sound, "
         f"median of {rounds} alternating rounds, wall time of the whole command:"),
        "",
        "| command | seconds | fps | vs stable-retro |",
        "| --- | ---: | ---: | ---: |",
        f"| `retrotool playback air.bk2 --mp4 rt.mp4` | {rt:.2f} | {frames / rt:,.0f} | {sr / rt:.2f}x |",
        f"| `python -m stable_retro.scripts.playback_movie air.bk2` (Xvfb) | {sr:.2f} | {frames / sr:,.0f} | 1.00x |",
        f"| retrotool replay loop only, headless, best round | | {ceiling[0]:,.0f} | |",
        f"| retrotool replay loop only, video + audio to a null sink (a render's ceiling), best round | | {ceiling[1]:,.0f} | |",
        "",
        (f"Long render: test core, {long['frames']:,} frames ({hours:.2f} h of game time) at {long['fps']:,.0f} fps; "
         f"peak RSS {long['rss']:.0f} MiB (the python process), {long['ffmpeg_rss']:.0f} MiB (ffmpeg, "
         f"sampled VmHWM); audio ends {long['drift_frames']:+.3f} frames from the video's end; "
         f"audio sample count exact: {'yes' if long['samples_exact'] else 'NO'}."),
    ])


def append_results(body: str, command: str) -> None:
    results = HERE / "RESULTS.md"
    head = "" if results.exists() else "# Benchmark results\n"
    stamp = time.strftime("%Y-%m-%d %H:%M")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    section = f"\n## Video rendering — {stamp} ({machine})\n\n`{command}`\n\n{body}\n"
    with open(results, "a", encoding="utf-8") as f:
        f.write(head + section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=3600, help="Airstriker movie length (default: 1 minute)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--long-frames", type=int, default=215_723, help="long render length (default: 1 hour)")
    parser.add_argument("--no-results", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="retrotool-bench-video-"))
    try:
        movie, rom = record_airstriker(workdir, args.frames)
        times = compare(workdir, movie, args.rounds)
        ceiling = replay_rates(movie, rom, args.rounds)
        long = long_render(workdir, args.long_frames)
        body = report(args.frames, times, ceiling, long)
        print(body)
        if not args.no_results:
            append_results(body, " ".join(["python benchmarks/bench_video.py", *sys.argv[1:]]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

"""The command line as a user meets it: --help, the example, and every bad input."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

COMMANDS = ["playback", "verify", "info", "record"]


def _assert_user_error(proc, *needles: str) -> None:
    """Non-zero exit, a one- or two-line message naming the problem, no traceback."""
    assert proc.returncode != 0, proc
    lines = [x for x in proc.stderr.strip().splitlines() if x.strip()]
    assert 1 <= len(lines) <= 2, proc.stderr
    assert "Traceback" not in proc.stderr
    text = " ".join(lines)
    for needle in needles:
        assert needle in text, text


@pytest.mark.parametrize("command", COMMANDS)
def test_help(cli, command: str) -> None:
    proc = cli(command, "--help")
    assert proc.returncode == 0
    assert "Example:" in proc.stdout


def test_version(cli) -> None:
    proc = cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("retrotool ")


@pytest.fixture
def recorded(tmp_path: Path, rom: Path, cli) -> Path:
    (tmp_path / rom.name).write_bytes(rom.read_bytes())
    proc = cli("record", "--rom", rom.name, "--random", "--seed", "3", "--frames", "300", "-o", "m.bk2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "m.bk2"


def test_record_playback_verify_info(recorded: Path, cli, tmp_path: Path) -> None:
    play = cli("playback", str(recorded), "--trace", "t.jsonl", cwd=tmp_path)
    assert play.returncode == 0, play.stderr
    assert "Test" in play.stdout and "300" in play.stdout
    # the core's own stdout chatter must not reach ours
    assert "hello from stdout" not in play.stdout
    rows = (tmp_path / "t.jsonl").read_text().splitlines()
    assert len(rows) == 300 and set(json.loads(rows[0])) == {"frame", "ram", "screen"}
    verify = cli("verify", recorded.name, cwd=tmp_path)
    assert verify.returncode == 0 and "m.bk2: 2 of 2 checkpoints matched" in verify.stdout, verify.stdout  # 0 and 299
    info = cli("info", str(recorded))
    assert info.returncode == 0 and "power-on" in info.stdout and "START" in info.stdout


def test_fresh_processes_give_identical_traces(recorded: Path, cli, tmp_path: Path) -> None:
    for name in ("a.jsonl", "b.jsonl"):
        assert cli("playback", str(recorded), "--trace", name, cwd=tmp_path).returncode == 0
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_existing_output_is_kept_without_force(recorded: Path, cli, tmp_path: Path, rom: Path) -> None:
    before = recorded.read_bytes()
    proc = cli("record", "--rom", str(tmp_path / rom.name), "--random", "--frames", "10", "-o", str(recorded))
    _assert_user_error(proc, "already exists", "--force")
    assert recorded.read_bytes() == before
    forced = cli("record", "--rom", str(tmp_path / rom.name), "--random", "--frames", "10", "-o", str(recorded), "--force")
    assert forced.returncode == 0 and recorded.read_bytes() != before
    assert not list(tmp_path.glob(".*tmp*"))


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def _with_log(recorded: Path, mutate) -> bytes:
    with zipfile.ZipFile(recorded) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    entries["Input Log.txt"] = mutate(entries["Input Log.txt"].decode()).encode()
    return _zip(entries)


def _line3(edit):
    """Apply edit to line 3 of the input log (the first frame)."""

    def mutate(text: str) -> str:
        lines = text.split("\n")
        lines[2] = edit(lines[2])
        return "\n".join(lines)

    return mutate


def test_bad_movies(recorded: Path, cli, tmp_path: Path) -> None:
    cases = {
        "notzip.bk2": (b"hello, not a zip", ["notzip.bk2", "zip"]),
        "nolog.bk2": (_zip({"Header.txt": b"Platform GEN\n"}), ["Input Log"]),
        "width.bk2": (_with_log(recorded, _line3(lambda x: x + ".")), ["line 3"]),
        "mnemonic.bk2": (_with_log(recorded, _line3(lambda x: "|..|Q" + x[5:])), ["line 3", "'Q'"]),
        "othersystem.bk2": (
            _with_log(recorded, lambda t: t.replace("P1 R3|", "P1 Mode|", 1)),
            ["Mode"],
        ),
    }
    for name, (data, needles) in cases.items():
        (tmp_path / name).write_bytes(data)
        for command in ("playback", "info"):
            _assert_user_error(cli(command, str(tmp_path / name)), *needles)


def test_bad_state_core_and_rom(tmp_path: Path, rom: Path, cli) -> None:
    (tmp_path / "bad.state").write_bytes(b"x" * 100)
    proc = cli("record", "--rom", str(rom), "--random", "--frames", "5", "--state", "bad.state", "-o", "a.bk2", cwd=tmp_path)
    _assert_user_error(proc, "100 bytes")
    (tmp_path / "fake_libretro.so").write_bytes(b"\x7fELF garbage")
    proc = cli("record", "--rom", str(rom), "--core", "./fake_libretro.so", "--random", "--frames", "5", "-o", "b.bk2", cwd=tmp_path)
    _assert_user_error(proc, "fake_libretro.so")
    (tmp_path / "refused.tst").write_bytes(b"BAD!")
    proc = cli("record", "--rom", "refused.tst", "--random", "--frames", "5", "-o", "c.bk2", cwd=tmp_path)
    _assert_user_error(proc, "refused")
    assert not any(tmp_path.glob("*.bk2"))


def test_input_file(tmp_path: Path, rom: Path, cli) -> None:
    buttons = np.zeros((40, 1, 16), np.uint8)
    buttons[10:20, 0, 3] = 1  # START
    np.save(tmp_path / "in.npy", buttons)
    proc = cli("record", "--rom", str(rom), "--input", "in.npy", "-o", "m.bk2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    np.save(tmp_path / "wrong.npy", np.zeros((40, 5), np.uint8))
    _assert_user_error(cli("record", "--rom", str(rom), "--input", "wrong.npy", "-o", "n.bk2", cwd=tmp_path), "wrong.npy")


def test_example_movie_plays_and_verifies(cli) -> None:
    from retrotool import movie as bk2

    examples = Path(__file__).resolve().parents[2] / "examples"
    stored = len(bk2.read(examples / "testgame.bk2").checkpoints)
    proc = cli("verify", "testgame.bk2", cwd=examples)
    assert proc.returncode == 0 and f"testgame.bk2: {stored} of {stored} checkpoints matched" in proc.stdout, proc.stdout
    assert stored > 1


def test_a_crashing_core_ends_only_its_movie(recorded: Path, cli, tmp_path: Path) -> None:
    from retrotool import movie as bk2

    movie = bk2.read(recorded)
    # testcore_crash_at: the test core's debug switch, raises SIGSEGV in its 124th frame since power-on, which
    # is row 121 of a power-on movie (the two frames stable-retro's make() runs come first)
    bk2.write(movie.with_meta(options={"testcore_crash_at": "123"}), tmp_path / "crash.bk2")
    proc = cli("playback", "crash.bk2", "m.bk2", cwd=tmp_path)
    assert proc.returncode == 1
    assert "crashed (SIGSEGV) in frame 121" in proc.stderr
    assert "300" in proc.stdout  # the other movie was replayed in full
    assert "1 of 2 movies failed" in proc.stderr
    single = cli("playback", "crash.bk2", "--isolate", cwd=tmp_path)
    _assert_user_error(single, "frame 121")
    assert "retrotool: the libretro core" not in single.stderr  # the parent reports it, once
    here = cli("playback", "crash.bk2", cwd=tmp_path)  # not isolated: the process dies, but says why
    assert here.returncode == -11 and "Traceback" not in here.stderr
    assert "retrotool: the libretro core retrotool-testcore crashed (SIGSEGV) after 123 frames" in here.stderr


def test_square_brackets_in_names_and_messages_are_printed(recorded: Path, cli, tmp_path: Path) -> None:
    """Rich reads [x] as markup: file names and messages must reach the terminal as they are."""
    shutil.copy(recorded, tmp_path / "run[take two].bk2")
    info = cli("info", "run[take two].bk2", cwd=tmp_path)
    assert info.returncode == 0 and "run[take two].bk2" in info.stdout, info.stdout
    play = cli("playback", "run[take two].bk2", "--trace", "t[final].jsonl", cwd=tmp_path)
    assert play.returncode == 0 and "t[final].jsonl" in play.stdout, play.stdout


def test_info_says_how_rows_meet_the_start_and_what_stable_retro_will_not_replay(tmp_path: Path, cli) -> None:
    from retrotool import movie as bk2, systems

    sms = systems.get("Sms")
    buttons = np.zeros((30, 1, len(sms.buttons)), np.uint8)
    buttons[12:14, 0, sms.index("PAUSE")] = 1
    (tmp_path / "pause.bk2").write_bytes(bk2.to_bytes(bk2.Movie(system="Sms", buttons=buttons, state=b"s" * 64)))
    proc = cli("info", "pause.bk2", cwd=tmp_path)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "stable-retro's convention" in text and "row 0 is the frame its reset() runs" in text
    assert "cannot hold PAUSE (player 1, first held in frame 12)" in text

    nes = "[Input]\nLogKey:#Reset|Power|#P1 Up|P1 Down|P1 Left|P1 Right|P1 Start|P1 Select|P1 B|P1 A|\n"
    with zipfile.ZipFile(tmp_path / "bizhawk.bk2", "w") as zf:
        zf.writestr("Header.txt", "MovieVersion BizHawk v2.0.0\nPlatform NES\n")
        zf.writestr("Input Log.txt", nes + "|..|U.......|\n|..|........|\n[/Input]\n")
    text = " ".join(cli("info", "bizhawk.bk2", cwd=tmp_path).stdout.split())
    assert "BizHawk's convention: row 0 is the first frame after power-on" in text and "warning" not in text

"""A symlink planted where retrotool writes (a temporary's name, the journal's) is never written through.

Someone who can write into a shared folder plants `name -> a victim file`;
retrotool writing "into" that name would overwrite the victim with the
rights of the user running it. Every temporary gets an unpredictable name
and is created exclusively (which fails on an existing name, a symlink too),
then renamed over the final name (which replaces a symlink, not its target).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retrotool import Recorder, games, outputs
from retrotool.errors import RetroToolError
from retrotool.sinks.contract import AvInfo, ReplayInfo
from retrotool.sinks.trace import TraceSink

ROOT = Path(__file__).resolve().parents[2]
VICTIM = b"precious: must never change\n"


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_bytes(VICTIM)
    return path


def test_import_never_writes_through_a_symlink_at_a_temporary_name(
    tmp_path: Path, rom: Path, victim: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "data" / "Mine-Test"
    shutil.copytree(ROOT / "data" / "TestGame-Test", folder)
    (folder / "rom.tst").unlink()
    monkeypatch.setenv("RETROTOOL_DATA_PATH", str(folder.parent))
    (folder / ".rom.tst.tmp").symlink_to(victim)  # the fixed temporary name import used
    (tmp_path / "roms").mkdir()
    shutil.copy(rom, tmp_path / "roms" / "anything.tst")
    imported = games.import_roms([tmp_path / "roms"])
    assert "Mine-Test" in {g.name for g in imported}
    assert victim.read_bytes() == VICTIM
    assert (folder / "rom.tst").read_bytes() == rom.read_bytes() and not (folder / "rom.tst").is_symlink()
    assert [p.name for p in folder.glob(".rom.tst.tmp-*")] == []


def test_a_symlinked_journal_is_replaced_not_written_through(tmp_path: Path, rom: Path, victim: Path) -> None:
    journal = tmp_path / "run.bk2.journal"
    journal.symlink_to(victim)
    with pytest.raises(RetroToolError, match="run.bk2.journal exists"):
        Recorder(rom=rom, out=tmp_path / "run.bk2")
    recorder = Recorder(rom=rom, out=tmp_path / "run.bk2", force=True)
    recorder.step(["A"])
    assert not journal.is_symlink() and journal.read_text().startswith("retrotool journal 1\n")
    recorder.close()
    assert victim.read_bytes() == VICTIM and (tmp_path / "run.bk2").is_file()


def _info() -> ReplayInfo:
    av = AvInfo(4, 4, 4, 4, 1.0, 60.0, 48000.0, 0)
    return ReplayInfo("Test", ("A",), 1, 1, av, "t", "1", "0" * 40, 0)


def test_a_temporary_is_created_exclusively_even_when_its_name_is_guessed(
    tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    guessed = tmp_path / ".out.tmp-guessed"
    guessed.symlink_to(victim)
    monkeypatch.setattr(outputs, "temp_name", lambda target: guessed)
    with pytest.raises(RetroToolError, match="cannot write .*out.jsonl"):
        TraceSink(tmp_path / "out.jsonl").open(_info())
    with pytest.raises(RetroToolError, match="cannot write .*out.bin"):
        outputs.write_atomic(tmp_path / "out.bin", lambda f: f.write(b"x"), force=True)
    assert victim.read_bytes() == VICTIM and not (tmp_path / "out.jsonl").exists()

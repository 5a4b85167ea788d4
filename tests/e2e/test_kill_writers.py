"""Every writing command, killed at random moments (SIGKILL and SIGTERM), leaves a complete output or none.

See `killing.py` for what is checked. A few kills per command here
(`RETROTOOL_KILLS` to change it); `benchmarks/bench_kill.py` runs many and
reports them in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from killing import hunt, scenarios

KILLS = int(os.environ.get("RETROTOOL_KILLS", "4"))
NAMES = [s.name for s in scenarios(Path("."))]


@pytest.mark.parametrize("name", NAMES)
def test_a_command_killed_at_any_moment_leaves_a_whole_output_or_none(tmp_path: Path, name: str) -> None:
    scenario = next(s for s in scenarios(tmp_path) if s.name == name)
    folder = tmp_path / ("import" if name == "import" else "work")
    tally = hunt(scenario, folder, KILLS, seed=sum(map(ord, name)))
    assert not tally.problems, "\n".join(tally.problems)
    assert sum(tally.kills.values()) == KILLS, tally

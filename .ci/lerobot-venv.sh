#!/usr/bin/env bash
# A Python with the lerobot package, for the test that opens --format lerobot output with LeRobot's
# own LeRobotDataset (tests/e2e/test_formats.py). Prints the interpreter's path.
#
# lerobot 0.4.4 pins torch < 2.11 and imports torchvision, whose PyPI wheels for Linux are CUDA builds
# that cannot load beside the CPU torch the project pins; so it lives in a venv of its own (the CUDA
# torch it pulls is ~8 GB). Made once per machine, reused while it imports.
set -euo pipefail
venv=${RETROTOOL_LEROBOT_VENV:-/var/tmp/retrotool-lerobot-venv}
if ! "$venv/bin/python" -c "import lerobot.datasets.lerobot_dataset" >/dev/null 2>&1; then
  rm -rf "$venv"
  python -m venv "$venv" >&2
  "$venv/bin/python" -m pip install -q 'lerobot==0.4.4' >&2
fi
echo "$venv/bin/python"

#!/usr/bin/env bash
# A new user's first minutes: `pip install .` with no extras into a fresh virtual environment
# (no system site packages, build isolation on), then the CLI as they would meet it. The main
# test run installs every extra, and an extra can pull in a package the CLI needs but does not
# declare (click, once): this stage is where such a gap shows.
#
# usage: .ci/smoke-no-extras.sh [CHECKOUT]     (default: the checkout this script is in)
set -euo pipefail
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
python=${PYTHON:-python3}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "$src"

# Run from an empty folder with an empty home, so neither the checkout's sources nor the
# user's cores, data or settings are seen: only what the install put into the venv.
mkdir "$work/run" "$work/home"
cd "$work/run"
unset RETROTOOL_CORE_PATH RETROTOOL_DATA_PATH XDG_CONFIG_HOME
export HOME="$work/home"
retrotool="$work/venv/bin/retrotool"
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# usage_error ARGS...: exits non-zero with a short message on stderr and no traceback.
usage_error() {
  local code=0
  "$retrotool" "$@" >"$work/out" 2>"$work/err" || code=$?
  local lines
  lines=$(grep -c . "$work/err" || true)
  if [ "$code" = 0 ]; then
    fail "retrotool $* exited 0; a usage error must not"
  elif grep -q Traceback "$work/err"; then
    fail "retrotool $* printed a traceback:"; cat "$work/err" >&2
  elif [ "$lines" -lt 1 ] || [ "$lines" -gt 6 ]; then
    fail "retrotool $* printed $lines lines on stderr, not a short message:"; cat "$work/err" >&2
  fi
}

# works ARGS...: exits 0 without a traceback.
works() {
  if ! "$retrotool" "$@" >"$work/out" 2>"$work/err" || grep -q Traceback "$work/err"; then
    fail "retrotool $* failed:"; cat "$work/err" >&2
    return 1
  fi
}

usage_error playback
usage_error playback --no-such-option x.bk2
usage_error --no-such-option
usage_error --install-completion
usage_error no-such-command
usage_error playback no-such-movie.bk2
usage_error playback "$src/examples/testgame.bk2" --view  # needs the view extra: says how to get it
usage_error dump-dataset "$src/examples/testgame.bk2" -o ds --format minari  # needs the dataset extra
usage_error ram watch "$src/examples/testgame.bk2" 16:'<u4' --png v.png  # needs the plot extra

commands=$("$work/venv/bin/python" -c 'import typer.main, retrotool.cli as c; print(*typer.main.get_command(c.app).commands)')
[ -n "$commands" ] || fail "no commands found"
for help in --help -h; do
  works "$help" && grep -q Usage "$work/out" || fail "retrotool $help shows no usage"
  for command in $commands; do
    works "$command" "$help" && grep -q Usage "$work/out" || fail "retrotool $command $help shows no usage"
  done
done
works --version

works playback "$src/examples/testgame.bk2" && grep -q "final RAM sha256" "$work/out" || fail "playback printed no summary"
works playback "$src/examples/testgame.bk2" --mp4 x.mp4 && [ -s x.mp4 ] || fail "playback --mp4 wrote no x.mp4"
works ram watch "$src/examples/testgame.bk2" 16:'<u4' --csv v.csv && [ -s v.csv ] || fail "ram watch wrote no v.csv"

if [ "$failures" -gt 0 ]; then
  echo "smoke test without extras: $failures failure(s)" >&2
  exit 1
fi
echo "smoke test without extras: passed ($(echo "$commands" | wc -w) commands)"

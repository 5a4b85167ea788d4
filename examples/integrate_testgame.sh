#!/usr/bin/env bash
# Integrate a new game end to end with retrotool's commands only: retrotool's own test game
# (examples/testgame.tst, no commercial ROM needed) gets a game folder, a movie is recorded,
# the score is found by a RAM search, then data.json, scenario.json and a start state are
# written and the scenario is checked on the movie. README: "Integrating a new game".
#
#   examples/integrate_testgame.sh [WORKDIR]        (default: a new temporary folder)
#
# The charts (values.png, reward.png) need matplotlib: pip install 'retrotool[plot]'.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work/data"
cd "$work"
export RETROTOOL_DATA_PATH="$work/data"   # new games go to the first folder named here

# 1. The game folder: ROM, rom.sha, empty data.json and scenario.json, metadata.json, Start.state (power-on).
retrotool integrate new "$here/testgame.tst" --name Demo-Test

# 2. A movie to search in (a person would play: `retrotool record Demo-Test -o run.bk2`).
retrotool record --game Demo-Test --random --seed 3 --frames 900 -o run.bk2 > /dev/null

# 3. Hunt for the score, like git bisect: every address under every type at first, then
#    what we know from watching the game.
retrotool ram search start run.bk2
retrotool ram search narrow --frame 300 --increased-since 0     # the score went up by frame 300
retrotool ram search narrow --frame 600 --increased             # ... and again by 600
retrotool ram search narrow --frame 160 --unchanged-since 149   # no scoring button held in 150-160
retrotool ram search narrow --frame 899 --equals 6262           # the score the screen shows at the end
retrotool ram search show                                       # 0x10 read as 2, 3 or 4 bytes: take <u4

# 4. RAM variables (data.json), checked to lie inside the game's RAM; watch them over the movie.
retrotool integrate var Demo-Test score 0x10 '<u4'
retrotool integrate var Demo-Test frame 0x4 '<u4'
retrotool ram watch run.bk2 score frame 0x20:'<u2' --csv values.csv --png values.png

# 5. The scenario (scenario.json): reward the score's rises, end the episode at 5000 points.
retrotool integrate reward Demo-Test score --reward 1
retrotool integrate done Demo-Test score --op greater-or-equal --reference 5000

# 6. A start state from the movie's frame 450, made the default (metadata.json).
retrotool state save run.bk2 --frame 450 --into Demo-Test --name Middle --default
retrotool state info data/Demo-Test/Middle.state

# 7. Check the scenario on the movie: total reward, the first frame done holds, ranges, warnings.
retrotool scenario check Demo-Test run.bk2 --png reward.png
retrotool games Demo-Test
echo "done: $work"

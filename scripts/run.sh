#!/usr/bin/env bash
# The main job from a fresh clone: set up, then build, validate, reason, run the saved queries and
# export into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/tradekb build "$@"

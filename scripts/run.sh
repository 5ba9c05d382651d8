#!/usr/bin/env bash
# The main job from a fresh clone: set up, then build, validate, reason, run the saved queries and
# export into build/; then write the website to site/ (open site/index.html).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/tradekb build "$@"
exec .venv/bin/tradekb site -o site

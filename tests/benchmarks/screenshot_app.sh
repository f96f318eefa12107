#!/usr/bin/env bash
# Screenshot the whole app under Xvfb after 20 s of simulated time (default layout, 1280x800).
#   tests/benchmarks/screenshot_app.sh [OUT.png] [PRESET]
# Writes OUT.png (default resources/screenshot.png): a grab of the main window, VisPy included.
# With SCREEN_OUT=path.png it also captures the whole X screen through shot.sh (SHOT_TOOL,
# default /work/shared/tools/shot.sh) for comparison.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-resources/screenshot.png}
preset=${2:-default}
py=${PYTHON:-.venv/bin/python}
cfg=$(mktemp -d)   # fresh settings: the default layout and theme
export XDG_CONFIG_HOME=$cfg
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
chmod 700 "$XDG_RUNTIME_DIR"
xvfb-run -a -s "-screen 0 1280x800x24" "$py" -m hippoviz.gui.app --preset "$preset" \
  --run-until 20 --speed max --select ca1:3 --screenshot "$out"
shot=${SHOT_TOOL:-/work/shared/tools/shot.sh}
if [ -n "${SCREEN_OUT:-}" ] && [ -x "$shot" ]; then
  rm -rf "$cfg"/hippoviz
  "$shot" "$SCREEN_OUT" 40 1280x800 -- "$py" -m hippoviz.gui.app --preset "$preset" \
    --run-until 20 --speed max --select ca1:3 || true
fi
rm -rf "$cfg"

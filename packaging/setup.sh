#!/usr/bin/env bash
# Idempotent set-up of hippoviz on Debian/Ubuntu: system packages, .venv, the project.
#   packaging/setup.sh          install what is missing, then the project with its test extra
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

pkgs=$(grep -v '^\s*#' packaging/system-packages.txt | sed '/^\s*$/d')
missing=()
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "hippoviz setup: installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

py=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "hippoviz setup: creating .venv"
  "$py" -m venv .venv
fi
stamp=.venv/.hippoviz-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "hippoviz setup: installing hippoviz into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  touch "$stamp"
fi
echo "hippoviz setup: ready (.venv/bin/hippoviz)"

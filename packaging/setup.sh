#!/usr/bin/env bash
# Set up hippoviz on Debian/Ubuntu: system packages, .venv, the project, the compiled kernels.
# Safe to run again at any time: it does only what is missing, and repairs a broken .venv.
#   packaging/setup.sh                install what is missing, then the project with its test extra
#   packaging/setup.sh --system-only  only the system packages (run it as root where sudo is missing)
#   packaging/setup.sh --packages     print the system packages this machine needs, one a line
#   PYTHON=python3.12 packaging/setup.sh    make .venv from another interpreter (3.11 or newer)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

mode=all
case "${1:-}" in
  "") ;;
  --system-only) mode=system ;;
  --packages) mode=list ;;
  -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
  *) echo "hippoviz setup: error: unknown option '$1' (see packaging/setup.sh --help)" >&2; exit 2 ;;
esac

say() { echo "hippoviz setup: $*"; }
die() { echo "hippoviz setup: error: $*" >&2; exit 1; }

# -- the system packages -------------------------------------------------------------------------
entries=$(sed -e 's/#.*//' packaging/system-packages.txt | tr -s ' \t' '\n\n' | sed '/^$/d')
plain=$(grep -v '{py}' <<<"$entries" || true)
templated=$(grep '{py}' <<<"$entries" || true)
debian=0
command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && debian=1
updated=0

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

as_root() {  # as_root PACKAGES... -- CMD...: run CMD as root (for installing PACKAGES)
  local pkgs=()
  while [ "$1" != "--" ]; do pkgs+=("$1"); shift; done
  shift
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "the system packages ${pkgs[*]} need root, and sudo is not installed: as root run  su -c '$here/packaging/setup.sh --system-only'  then packaging/setup.sh again"
  fi
}

apt_install() {  # apt_install PACKAGES...
  as_root "$@" -- true  # says how to run it as root when it cannot become root
  say "installing system packages: $*"
  if [ $updated = 0 ]; then
    as_root "$@" -- apt-get update -qq
    updated=1
  fi
  as_root "$@" -- env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

resolve() {  # the real package for a name of the list ({py} filled in): as is, or its t64 rename
  local c
  for c in "$1" "${1}t64"; do installed "$c" && { echo "$c"; return 0; }; done
  for c in "$1" "${1}t64"; do
    apt-cache show --no-all-versions "$c" >/dev/null 2>&1 && { echo "$c"; return 0; }
  done
  return 1
}

missing_of() {  # the packages of the arguments that are not installed
  local p
  for p in "$@"; do installed "$p" || echo "$p"; done
}

# -- the interpreter -----------------------------------------------------------------------------
venv_ok() {  # .venv runs, has pip, and is of the wanted Python (when PYTHON names one)
  [ -x .venv/bin/python ] || return 1
  .venv/bin/python - "${PYTHON:+$want}" >/dev/null 2>&1 <<'EOF'
import importlib.util, sys
want = sys.argv[1] if len(sys.argv) > 1 else ""
ver = "%d.%d" % sys.version_info[:2]
sys.exit(0 if importlib.util.find_spec("pip") and sys.version_info >= (3, 11)
         and (not want or want == ver) else 1)
EOF
}

py_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }

# the interpreter that makes (or made) .venv; its X.Y fills {py}
interp() {
  if [ -z "${PYTHON:-}" ] && venv_ok; then echo .venv/bin/python; else echo "${PYTHON:-python3}"; fi
}

derive() {  # DERIVED=( the {py} packages of the list for interpreter $1 ), none if it is not
            # the distribution's (pyenv, /usr/local, conda builds carry their own)
  local real ver t name pkg
  DERIVED=()
  command -v "$1" >/dev/null 2>&1 || return 0
  real=$("$1" -c 'import os, sys; print(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))' 2>/dev/null) || return 0
  dpkg-query -S "$real" >/dev/null 2>&1 || return 0
  ver=$(py_version "$1")
  for t in $templated; do
    name=${t//\{py\}/$ver}
    if ! pkg=$(resolve "$name"); then
      if [ "$mode" = list ]; then
        pkg=$name
      else
        if [ $updated = 0 ]; then  # a fresh machine may have no package lists yet
          as_root "$name" -- apt-get update -qq
          updated=1
        fi
        pkg=$(resolve "$name") || die "no Debian package '$name' (nor '${name}t64') for Python $ver"
      fi
    fi
    DERIVED+=("$pkg")
  done
}

want=""
if [ -n "${PYTHON:-}" ]; then
  want=$(py_version "$PYTHON") || want=""
fi

if [ "$mode" = list ]; then
  if [ $debian = 1 ]; then
    echo "$plain"
    derive "$(interp)"
    [ ${#DERIVED[@]} = 0 ] || printf '%s\n' "${DERIVED[@]}"
  else
    echo "$entries"
  fi
  exit 0
fi

if [ $debian = 1 ]; then
  # shellcheck disable=SC2086
  need=$(missing_of $plain)
  # shellcheck disable=SC2086
  [ -z "$need" ] || apt_install $need
  derive "$(interp)"
  need=$(missing_of "${DERIVED[@]}")
  # shellcheck disable=SC2086
  [ -z "$need" ] || apt_install $need
else
  say "not a Debian/Ubuntu system: install the equivalents of packaging/system-packages.txt yourself"
fi
[ "$mode" = system ] && { say "system packages ready"; exit 0; }

# -- .venv ---------------------------------------------------------------------------------------
if ! venv_ok; then
  py=${PYTHON:-python3}
  command -v "$py" >/dev/null 2>&1 || die "no Python interpreter '$py': install python3 (3.11 or newer) or set PYTHON=/path/to/python3.11"
  ver=$(py_version "$py") || die "'$py' does not run"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "hippoviz needs Python 3.11 or newer; '$py' is $ver: install python3.11 and run PYTHON=python3.11 packaging/setup.sh"
  if [ -e .venv ]; then
    say "making .venv anew (the one here is incomplete, broken or of another Python)"
    rm -rf .venv
  else
    say "creating .venv (Python $ver)"
  fi
  if ! "$py" -m venv .venv; then
    rm -rf .venv  # never leave a half-made .venv behind
    die "'$py -m venv' failed: on Debian/Ubuntu install python$ver-venv, then run packaging/setup.sh again"
  fi
fi

stamp=.venv/.hippoviz-installed
key="$(sha256sum pyproject.toml | cut -c1-64) $here"
project_ok() {
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] || return 1
  .venv/bin/python - "$here" >/dev/null 2>&1 <<'EOF'
import os, sys
import hippoviz, pytest  # noqa: F401  (the project and its test extra)
here = os.path.realpath(sys.argv[1])
sys.exit(0 if os.path.realpath(hippoviz.__file__).startswith(here + os.sep) else 1)
EOF
}
if ! project_ok; then
  say "installing hippoviz and its test tools into .venv"
  rm -f "$stamp"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test]"
  echo "$key" >"$stamp"
fi

# -- the model's kernels (Numba caches them beside the sources) ----------------------------------
.venv/bin/python -m hippoviz.runtime.compile --prefix "hippoviz setup: "
say "ready: .venv/bin/hippoviz starts the app, .venv/bin/python -m pytest runs the tests"

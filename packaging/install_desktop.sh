#!/usr/bin/env bash
# Add hippoviz to the desktop's application menu (Linux, freedesktop.org): the .desktop entry
# and the icon in every size, for the current user (or system-wide with --system, as root).
#   packaging/install_desktop.sh                          Exec=hippoviz (a pip/pipx install on PATH)
#   packaging/install_desktop.sh --exec /opt/hippoviz/hippoviz   a PyInstaller bundle elsewhere
#   packaging/install_desktop.sh --uninstall [--system]
# The PyInstaller bundle carries a copy of this script beside its binary: run it there and
# Exec points at that binary.
set -euo pipefail
sdir=$(cd "$(dirname "$0")" && pwd)
if [ -x "$sdir/hippoviz" ] && [ -d "$sdir/_internal/resources/icons" ]; then
  icons=$sdir/_internal/resources/icons; exec_cmd=$sdir/hippoviz          # inside the bundle
else
  icons=$sdir/../resources/icons; exec_cmd=hippoviz                     # in a checkout
fi
prefix=${XDG_DATA_HOME:-$HOME/.local/share}
uninstall=0
while [ $# -gt 0 ]; do
  case $1 in
    --exec) exec_cmd=$2; shift 2 ;;
    --system) prefix=/usr/local/share; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install_desktop.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
apps=$prefix/applications
theme=$prefix/icons/hicolor
if [ $uninstall = 1 ]; then
  rm -f "$apps/hippoviz.desktop" "$theme"/*/apps/hippoviz.png "$theme/scalable/apps/hippoviz.svg"
else
  mkdir -p "$apps" "$theme/scalable/apps"
  for f in "$icons"/hippoviz-*.png; do
    n=$(basename "$f" .png); n=${n#hippoviz-}
    mkdir -p "$theme/${n}x${n}/apps"
    cp "$f" "$theme/${n}x${n}/apps/hippoviz.png"
  done
  cp "$icons/hippoviz.svg" "$theme/scalable/apps/hippoviz.svg"
  q=$exec_cmd; case $q in *" "*) q="\"$q\"" ;; esac   # the spec's quoting of a path with spaces
  sed -e "s|^Exec=hippoviz|Exec=$q|" -e "s|^TryExec=hippoviz|TryExec=$exec_cmd|" \
    "$sdir/hippoviz.desktop" > "$apps/hippoviz.desktop"
  echo "installed $apps/hippoviz.desktop (Exec=$exec_cmd gui) and icons under $theme"
fi
command -v update-desktop-database >/dev/null && update-desktop-database -q "$apps" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$theme" || true

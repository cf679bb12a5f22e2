#!/usr/bin/env bash
# Installs the built .deb and checks it as a user would meet it: files in place, desktop entry
# and metainfo valid, and the installed program opens its window (under Xvfb) without errors.
# Needs root and Debian: apt-get installs xvfb, xdotool, desktop-file-utils, appstream.
set -euo pipefail
cd "$(dirname "$0")/../.."
deb=$(ls -t target/debian/sockscope_*.deb | head -n 1)
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends xvfb xauth xdotool desktop-file-utils appstream \
  libgl1-mesa-dri libegl1 libxkbcommon-x11-0 >/dev/null
apt-get install -y -qq "./$deb" >/dev/null

echo "== package contents"
dpkg -L sockscope | grep -E 'bin/sockscope|applications/sockscope.desktop|metainfo|icons/hicolor/(48x48|256x256)/apps/sockscope.png|THIRD_PARTY' 
for f in /usr/bin/sockscope /usr/share/applications/sockscope.desktop \
         /usr/share/metainfo/io.github.sockscope.SockScope.metainfo.xml \
         /usr/share/icons/hicolor/256x256/apps/sockscope.png; do
  test -e "$f" || { echo "missing: $f"; exit 1; }
done
desktop-file-validate /usr/share/applications/sockscope.desktop
appstreamcli validate --no-net /usr/share/metainfo/io.github.sockscope.SockScope.metainfo.xml
/usr/bin/sockscope --version

echo "== the installed program opens its window"
home=$(mktemp -d)
log=$(mktemp)
export HOME="$home" XDG_DATA_HOME="$home/.local/share" LANG=zh_CN.UTF-8
Xvfb :87 -screen 0 1280x900x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
sleep 1
DISPLAY=:87 /usr/bin/sockscope >"$log" 2>&1 &
app=$!
if ! DISPLAY=:87 timeout 30 xdotool search --sync --name 'SockScope' >/dev/null; then
  echo "no SockScope window appeared"; cat "$log"; exit 1
fi
sleep 3
kill -0 "$app" || { echo "sockscope exited"; cat "$log"; exit 1; }
kill "$app"; wait "$app" 2>/dev/null || true
if grep -Ei 'error|panic' "$log"; then
  echo "errors were printed"; exit 1
fi
echo "window appeared; no errors printed"

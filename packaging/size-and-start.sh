#!/usr/bin/env bash
# Prints the release binary's size and its cold start time: until `--version` answers, and
# until the window appears under Xvfb (apt-get install xvfb xdotool).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked >/dev/null
bin=target/release/sockscope
echo "binary: $(du -h "$bin" | cut -f1) ($(stat -c %s "$bin") bytes)"
start=$(date +%s.%N); "$bin" --version >/dev/null; end=$(date +%s.%N)
echo "--version: $(echo "($end - $start) * 1000" | bc | cut -d. -f1) ms"
if command -v Xvfb >/dev/null && command -v xdotool >/dev/null; then
  Xvfb :88 -screen 0 1280x900x24 >/dev/null 2>&1 & xvfb=$!
  sleep 1
  home=$(mktemp -d)
  start=$(date +%s.%N)
  HOME="$home" DISPLAY=:88 "$bin" >/dev/null 2>&1 & app=$!
  DISPLAY=:88 timeout 30 xdotool search --sync --name SockScope >/dev/null
  end=$(date +%s.%N)
  echo "window shown: $(echo "($end - $start) * 1000" | bc | cut -d. -f1) ms"
  kill $app $xvfb 2>/dev/null || true
fi

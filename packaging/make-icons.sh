#!/usr/bin/env bash
# Renders resources/icon.svg into every icon the packages need (committed; run after changing
# the SVG). Needs: apt-get install librsvg2-bin imagemagick icnsutils
set -euo pipefail
cd "$(dirname "$0")/.."
out=packaging/icons
mkdir -p "$out"
for size in 16 24 32 48 64 128 256 512; do
  rsvg-convert -w "$size" -h "$size" resources/icon.svg -o "$out/sockscope-$size.png"
done
cp "$out/sockscope-256.png" resources/icon-256.png
convert "$out"/sockscope-{16,24,32,48,64,256}.png "$out/sockscope.ico"
png2icns "$out/sockscope.icns" "$out"/sockscope-{16,32,48,128,256,512}.png >/dev/null
echo "icons written to $out"

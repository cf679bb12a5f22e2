#!/usr/bin/env bash
# Builds target/debian/sockscope_<version>_<arch>.deb with cargo-deb (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v cargo-deb >/dev/null 2>&1 || cargo install cargo-deb --locked
cargo build --release --locked
cargo deb --no-build --locked
ls -l target/debian/*.deb

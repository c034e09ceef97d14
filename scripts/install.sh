#!/usr/bin/env bash
# Does what Harbor does for `harbor install mqtt` from this checkout: builds the library in
# release mode and lays out PROJECT_DIR/harbor_modules/mqtt/{harbor.toml,init.lua,
# native/libcopper_mqtt.so}, where CopperMoon's `require("mqtt")` finds it.
# Usage: scripts/install.sh PROJECT_DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: scripts/install.sh PROJECT_DIR" >&2; exit 2; }
project=$1
cd "$(dirname "$0")/.."
cargo build --release
release="$(realpath -m "${CARGO_TARGET_DIR:-target}")/release"
pkg="$project/harbor_modules/mqtt"
mkdir -p "$pkg/native"
cp harbor.toml init.lua "$pkg/"
cp "$release/libcopper_mqtt.so" "$pkg/native/libcopper_mqtt.so"
echo "installed mqtt into $pkg"

#!/usr/bin/env bash
# An installed porthost needs nothing from its build directory (issue 14):
# `cargo install` into a temporary root, then, from another directory with
# a fresh cache, run the echo example (in-process and isolated), print the
# compile flags, and scaffold a C driver that builds and passes its tests.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo install --locked --quiet --path . --root "$tmp/root" --target-dir "$repo/target/install"
export PATH="$tmp/root/bin:$PATH" XDG_CACHE_HOME="$tmp/cache"
mkdir "$tmp/elsewhere" && cp examples/echo.erl "$tmp/elsewhere/"
cd "$tmp/elsewhere"
expected=$(cargo run --quiet --manifest-path "$repo/Cargo.toml" -- run "$repo/examples/echo.erl")
[ "$(porthost run echo.erl)" = "$expected" ] || { echo "installed porthost: echo.erl differs"; exit 1; }
[ "$(porthost --isolate run echo.erl)" = "$expected" ] || { echo "installed porthost --isolate: echo.erl differs"; exit 1; }
test -f "$(porthost config --include-dir)/erl_driver.h"
porthost new-driver my_drv --lang c "$tmp/my_drv" >/dev/null
make -s -C "$tmp/my_drv" test
if command -v escript >/dev/null 2>&1; then make -s -C "$tmp/my_drv" erts-test; fi
echo "install check: ok"

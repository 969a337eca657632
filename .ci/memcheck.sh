#!/usr/bin/env bash
# The unit tests and the in-process driver tests (ports, driver_api: C test
# drivers loaded into the test process, calling the whole erl_driver API)
# under valgrind's memcheck: an invalid read or write, a use of
# uninitialised memory or a bad free in porthost's ABI layer, its driver
# queue, binaries or shared-memory rings fails the run. Leaks are not
# checked (drivers and the runtime keep process-lifetime allocations).
# Run by .ci/run after `cargo test`; by hand: bash .ci/memcheck.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "memcheck: valgrind is not installed" >&2; exit 1; }
# The test executable cargo builds for target $1 (lib or tests).
bin() {
  cargo test --locked --no-run --message-format=json "${@:2}" 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1] \
            and m["profile"]["test"]:
        print(m["executable"])' "$1" | head -1
}
lib=$(bin porthost --lib)
tests=$(bin tests --test tests)
vg=(valgrind --error-exitcode=99 --leak-check=no --quiet)
echo "memcheck: unit tests of the modules with unsafe code"
# (the ABI layer, ports, binaries, the isolation rings and shared memory;
# not the long concurrency stress tests: they pass uninstrumented in cargo
# test, and take minutes under valgrind)
"${vg[@]}" "$lib" --test-threads=2 -q abi:: port:: binary:: isolate:: \
  --skip concurrent_producer --skip random_interleavings --skip frames_bigger
echo "memcheck: in-process driver tests (ports, driver_api)"
"${vg[@]}" "$tests" --test-threads=2 -q ports:: driver_api::
echo "memcheck: clean"

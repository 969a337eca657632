#!/usr/bin/env bash
# Side-by-side: the same port operations on the same drivers (echo_drv,
# queue_drv, and the test drivers timer_drv, async_drv, select_drv), under
# ERTS (escript, compiled mode; the driver built against OTP's erl_driver.h)
# and under porthost (benches/compare.rs, release build), in one run. Prints
# one table: operation, ERTS ns/op, porthost ns/op, ratio porthost/ERTS.
# The isolated_NAME rows are porthost's isolated ports (the driver in a
# worker process) beside ERTS's in-process NAME; the floor_NAME rows the
# least any host in Rust does for NAME on this machine (benches/compare.rs,
# `floor`), beside ERTS's NAME.
# Needs erlang-nox and erlang-dev (see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
otp_root=$(erl -noshell -eval 'io:format("~s",[code:root_dir()]),halt().')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for src in drivers/c/echo_drv.c drivers/c/queue_drv.c tests/drivers/timer_drv.c \
           tests/drivers/async_drv.c tests/drivers/select_drv.c; do
  cc -shared -fPIC -O2 -I"$otp_root/usr/include" -o "$work/$(basename "$src" .c).so" "$src"
done
PORTHOST_BENCH_DRIVERS="$work" cargo bench --quiet --bench compare >"$work/porthost.txt"
PORTHOST_BENCH_DRIVERS="$work" PORTHOST_BENCH_ISOLATED=1 cargo bench --quiet --bench compare >>"$work/porthost.txt"
escript bench/erts_ops.escript "$work" | awk '{ print; print "isolated_" $0; print "floor_" $0 }' >"$work/erts.txt"
printf '%-38s %12s %14s %8s\n' operation "ERTS ns/op" "porthost ns/op" ratio
join <(sort "$work/erts.txt") <(sort "$work/porthost.txt") |
  awk '{ printf "%-38s %12.1f %14.1f %8.2f\n", $1, $2, $3, $3 / $2 }'

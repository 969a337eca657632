#!/usr/bin/env bash
# porthost from a BEAM, side by side in one run (issue 17): the same echo
# through a local ERTS port (echo_drv built against OTP's erl_driver.h), an
# ERTS port program (`cat` with {packet, 4}), the porthost bridge and a
# porthost node over distribution on the loopback. Round trip (`command`
# and its reply message; `control`) and pipelined (100 in flight), 28 B and
# 64 KiB; each case the best of 5 runs, the targets taking turns.
# Prints ns per operation and the ratio bridge / port program (target: <= 1).
# Needs erlang-nox and erlang-dev (see .ci/run); builds porthost --release.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
exe=$PWD/target/release/porthost
otp_root=$(erl -noshell -eval 'io:format("~s",[code:root_dir()]),halt().')
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cc -shared -fPIC -O2 -I"$otp_root/usr/include" -o "$work/echo_drv.so" drivers/c/echo_drv.c
erlc -o "$work" erlang/src/porthost.erl bench/beam_bench.erl
# A private EPMD on the loopback, and the porthost node.
export ERL_EPMD_ADDRESS=127.0.0.1
ERL_EPMD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export ERL_EPMD_PORT
epmd -port "$ERL_EPMD_PORT" -address 127.0.0.1 & pids+=($!)
sleep 0.5
cookie=porthost_bench
"$exe" node --sname ph_bench --cookie "$cookie" 2>"$work/node.log" & pids+=($!)
for _ in $(seq 50); do grep -q listening "$work/node.log" 2>/dev/null && break; sleep 0.1; done
host=$(hostname -s)
erl -noshell -sname beam_bench -setcookie "$cookie" -start_epmd false -pa "$work" \
    -run beam_bench main "$work" "$exe" "ph_bench@$host" >"$work/out.txt"
# The machine may be shared: say how loaded it was (the figures move with it).
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-11s %6s %12s %14s %12s %12s %14s\n' op bytes "ERTS port" "port program" bridge node "bridge/program"
awk '{ k = $2 " " $3; v[k, $1] = $4; if (!(k in seen)) { seen[k] = 1; order[++n] = k } }
     END { for (i = 1; i <= n; i++) { k = order[i]; split(k, a, " ");
             p = v[k, "erts_program"]; b = v[k, "bridge"];
             printf "%-11s %6s %12.1f %14s %12.1f %12.1f %14s\n", a[1], a[2], v[k, "erts_driver"],
                    (p == "" ? "-" : sprintf("%.1f", p)), b, v[k, "node"], (p == "" ? "-" : sprintf("%.2f", b / p)) } }' "$work/out.txt"

% port_control: the default rlen (64, whatever the input size), list-mode
% replies in the host's buffer or in a driver_alloc'ed one, *rbuf = NULL,
% binary mode (set_port_control_flags; it applies to the reply of the same
% call): replies written in the host's buffer, ErlDrvBinary replies whose
% length is their orig_size and not the return value (kept <= 64 bytes:
% ERTS 25.2.3 crashes on larger ones), back to list mode, get_port_flags,
% driver_caller vs driver_connected, output from inside control, and
% control on a port in binary mode (messages are binaries, replies are not).
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
port_control(P, $r, "").
port_control(P, $r, lists:duplicate(200, $x)).
port_control(P, $c, <<"binary input">>).
port_control(P, $c, [$a, [<<"b">>], "c" | <<"d">>]).
port_control(P, $L, "0").
port_control(P, $L, "10").
length(port_control(P, $L, "64")).
length(port_control(P, $L, "65")).
length(port_control(P, $L, "100000")).
port_control(P, $Z, "").
port_control(P, $R, "5").
port_control(P, $F, "").
port_control(P, $C, "").
port_control(P, $o, "from control").
flush().
port_control(P, $M, "").
port_control(P, $F, "").
port_control(P, $c, "").
port_control(P, $R, "5").
port_control(P, $R, "0").
port_control(P, $Z, "").
port_control(P, $B, [3, 5]).
port_control(P, $B, [5, 3]).
port_control(P, $B, [5, 5]).
port_control(P, $B, [0, 0]).
port_control(P, $B, [0, 10]).
port_control(P, $B, [10, 200]).
port_control(P, $B, [64, 0]).
port_control(P, $m, "").
port_control(P, $c, "").
PB = open_port({spawn_driver, "probe_drv"}, [binary]).
port_control(PB, $c, "").
port_control(PB, $o, "from control").
flush().
erlang:port_info(P, input).
erlang:port_info(P, output).
port_control(P, 4294967295, "").

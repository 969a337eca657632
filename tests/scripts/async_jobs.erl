% driver_async: invoke runs in an async thread, ready_async delivers the
% result; return values are job ids (> 0, increasing, VM-wide; ERTS's
% counter sometimes advances by 2 between two calls, so only order is
% printed); a key comes back as the queue number (key rem threads: 0 with
% ERTS's default of one async thread); jobs with one key finish in
% submission order.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, async_drv).
P = open_port({spawn_driver, "async_drv"}, []).
Q = open_port({spawn_driver, "async_drv"}, []).
R1 = list_to_integer(port_control(P, $a, "10")), R1 > 0.
R2 = list_to_integer(port_control(P, $a, "1000")), R2 > R1.
R3 = list_to_integer(port_control(Q, $a, "3")), R3 > R2.
receive {P, {data, T1}} -> list_to_atom(T1) after 2000 -> timeout end.
receive {P, {data, T2}} -> list_to_atom(T2) after 2000 -> timeout end.
receive {Q, {data, T3}} -> list_to_atom(T3) after 2000 -> timeout end.
port_control(P, $q, "7").
receive {P, {data, T4}} -> list_to_atom(T4) after 2000 -> timeout end.
port_control(P, $k, "8").
[receive {P, {data, T}} -> list_to_atom(T) after 2000 -> timeout end || _ <- lists:seq(1, 8)].
list_to_atom(port_control(P, $K, "")).
flush().

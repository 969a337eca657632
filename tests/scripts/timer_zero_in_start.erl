% A 0 ms timer set in start fires once the port is open, and only once;
% also one set (and read) from a control call, or set and then cancelled.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, timer_drv).
P = open_port({spawn_driver, "timer_drv now"}, []).
receive {P, {data, T1}} -> list_to_atom(T1) after 2000 -> timeout end.
receive {P, {data, T2}} -> list_to_atom(T2) after 200 -> none end.
port_control(P, $s, "0").
receive {P, {data, T3}} -> list_to_atom(T3) after 2000 -> timeout end.
port_control(P, $s, "0"), port_control(P, $c, "").
receive {P, {data, T4}} -> list_to_atom(T4) after 200 -> none end.
list_to_atom(port_control(P, $K, "")).
port_close(P).

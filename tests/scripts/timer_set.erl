% driver_set_timer and driver_read_timer: the timeout callback runs once;
% the time left reads N right after setting N ms (rounded up), counts down
% (the bounds allow for a loaded machine),
% and is 0 inside the timeout callback, after it, and with no timer armed.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, timer_drv).
P = open_port({spawn_driver, "timer_drv"}, []).
port_control(P, $r, "").
port_control(P, $c, "").
port_control(P, $s, "1000").
L1 = list_to_integer(port_control(P, $l, "")), L1 =< 1000 andalso L1 > 500.
port_control(P, $s, "400").
L2 = list_to_integer(port_control(P, $l, "")), L2 =< 400 andalso L2 > 0.
receive {P, {data, T1}} -> list_to_atom(T1) after 2000 -> timeout end.
receive {P, {data, T2}} -> list_to_atom(T2) after 200 -> none end.
port_control(P, $r, "").
% 0 ms fires at once.
port_control(P, $s, "0").
receive {P, {data, T3}} -> list_to_atom(T3) after 2000 -> timeout end.
% Re-armed from inside the timeout callback.
port_control(P, $n, "4").
[receive {P, {data, T}} -> list_to_atom(T) after 2000 -> timeout end || _ <- lists:seq(1, 4)].
receive {P, {data, T4}} -> list_to_atom(T4) after 200 -> none end.
list_to_atom(port_control(P, $K, "")).
% Long timers: 2^40 ms reads back as set; a value of 2^63 or more (here
% (unsigned long)-1) is negative to ERTS, which fires it at once.
port_control(P, $s, "1099511627776").
port_control(P, $l, "").
port_control(P, $s, "-1").
receive {P, {data, T5}} -> list_to_atom(T5) after 2000 -> timeout end.
port_control(P, $c, "").
flush().

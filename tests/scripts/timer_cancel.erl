% driver_cancel_timer: nothing fires; the time left reads 0; cancelling
% with no timer armed returns 0 too.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, timer_drv).
P = open_port({spawn_driver, "timer_drv"}, []).
port_control(P, $s, "50").
port_control(P, $c, "").
port_control(P, $r, "").
receive {P, {data, T1}} -> list_to_atom(T1) after 300 -> none end.
port_control(P, $c, "").
% Cancel, then set again: the new timer fires.
port_control(P, $s, "20").
port_control(P, $c, "").
port_control(P, $s, "40").
receive {P, {data, T2}} -> list_to_atom(T2) after 2000 -> timeout end.
receive {P, {data, T3}} -> list_to_atom(T3) after 200 -> none end.
% Cancelled after it fired: nothing changes.
port_control(P, $c, "").
list_to_atom(port_control(P, $K, "")).
flush().

% driver_select on TCP sockets. The driver listens on 127.0.0.1 and connects
% a client socket to itself: accept, echo and the client's read all run in
% ready_input; releasing a descriptor (ERL_DRV_USE off) calls stop_select
% inside driver_select (the log shows stop_select(R) before deselect(R)).
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, select_drv).
P = open_port({spawn_driver, "select_drv desel"}, []).
is_integer(list_to_integer(port_control(P, $L, ""))).
port_control(P, $n, "").
port_control(P, $C, "").
receive {P, {data, T1}} -> list_to_atom(T1) after 2000 -> timeout end.
receive {P, {data, T2}} -> list_to_atom(T2) after 2000 -> timeout end.
receive {P, {data, T3}} -> list_to_atom(T3) after 2000 -> timeout end.
list_to_atom(port_control(P, $K, "")).
port_control(P, $n, "").
% Again, on the same listener.
port_control(P, $C, "").
receive {P, {data, T4}} -> list_to_atom(T4) after 2000 -> timeout end.
receive {P, {data, T5}} -> list_to_atom(T5) after 2000 -> timeout end.
receive {P, {data, T6}} -> list_to_atom(T6) after 2000 -> timeout end.
list_to_atom(port_control(P, $K, "")).
% stop releases the listener: stop_select runs from inside stop.
port_close(P).
Q = open_port({spawn_driver, "select_drv"}, []).
list_to_atom(port_control(Q, $K, "")).
flush().

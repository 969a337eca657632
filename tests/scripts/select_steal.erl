% Selecting a descriptor another port has selected: ERTS logs "stealing
% control of fd=N" and returns 0, and the second port gets the events from
% then on, even after the first one closes.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, select_drv).
A = open_port({spawn_driver, "select_drv"}, []).
B = open_port({spawn_driver, "select_drv"}, []).
port_control(A, $D, "").
port_control(B, $d, "").
port_control(A, $w, "").
receive {A, {data, T1}} -> {a, list_to_atom(T1)}; {B, {data, T1}} -> {b, list_to_atom(T1)} after 2000 -> timeout end.
receive {_, {data, T2}} -> list_to_atom(T2) after 300 -> none end.
% A was robbed of the descriptor: closing A leaves it with B.
port_close(A).
port_control(B, $w, "").
receive {B, {data, T3}} -> list_to_atom(T3) after 2000 -> timeout end.
list_to_atom(port_control(B, $K, "")).
% Releasing (ERL_DRV_USE off) from a third port, though B holds it: the
% descriptor goes, and that port's driver gets stop_select.
A2 = open_port({spawn_driver, "select_drv"}, []).
port_control(A2, $e, "").
list_to_atom(port_control(B, $K, "")).
flush().

% Deselecting inside ready_input: the descriptor stays readable, yet no
% further ready_input comes until it is selected again.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, select_drv).
P = open_port({spawn_driver, "select_drv"}, []).
port_control(P, $I, "").
receive {P, {data, T1}} -> list_to_atom(T1) after 2000 -> timeout end.
receive {P, {data, T2}} -> list_to_atom(T2) after 300 -> none end.
port_control(P, $n, "").
port_control(P, $i, "").
receive {P, {data, T3}} -> list_to_atom(T3) after 2000 -> timeout end.
receive {P, {data, T4}} -> list_to_atom(T4) after 300 -> none end.
list_to_atom(port_control(P, $K, "")).
port_control(P, $n, "").
flush().

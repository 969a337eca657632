% Setting a port's timer again replaces it: only the last one fires.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, timer_drv).
P = open_port({spawn_driver, "timer_drv"}, []).
% Shorter: fires at 30 ms, not at 1000.
port_control(P, $s, "1000").
port_control(P, $s, "30").
receive {P, {data, T1}} -> list_to_atom(T1) after 500 -> timeout end.
receive {P, {data, T2}} -> list_to_atom(T2) after 1200 -> none end.
% Longer: nothing at 200 ms, one timeout at 600 (wide apart: a loaded
% machine may take a while between two statements).
port_control(P, $s, "200").
port_control(P, $s, "600").
receive {P, {data, T3}} -> list_to_atom(T3) after 300 -> none end.
receive {P, {data, T4}} -> list_to_atom(T4) after 2000 -> timeout end.
receive {P, {data, T5}} -> list_to_atom(T5) after 200 -> none end.
% Many times over: one timeout.
[port_control(P, $s, "300") || _ <- lists:seq(1, 50)], ok.
receive {P, {data, T6}} -> list_to_atom(T6) after 2000 -> timeout end.
receive {P, {data, T7}} -> list_to_atom(T7) after 200 -> none end.
list_to_atom(port_control(P, $K, "")).
flush().

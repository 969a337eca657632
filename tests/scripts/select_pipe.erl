% ERL_DRV_WRITE readiness (ready_output), ERL_DRV_USE_NO_CALLBACK, releasing
% a descriptor that was never selected, and a descriptor epoll refuses.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, select_drv).
P = open_port({spawn_driver, "select_drv"}, []).
% ready_output on pipe_w writes "data"; ready_input on pipe_r reads it, then
% pipe_r is released without stop_select and pipe_w with it.
port_control(P, $P, "").
receive {P, {data, T1}} -> list_to_atom(T1) after 2000 -> timeout end.
receive {P, {data, T2}} -> list_to_atom(T2) after 300 -> none end.
list_to_atom(port_control(P, $K, "")).
port_control(P, $n, "").
% ERL_DRV_USE off on a descriptor never selected: stop_select all the same.
port_control(P, $u, "").
list_to_atom(port_control(P, $K, "")).
% ERL_DRV_USE_NO_CALLBACK without a direction changes nothing: still
% selected for reading.
port_control(P, $b, "").
receive {P, {data, T3}} -> list_to_atom(T3) after 2000 -> timeout end.
list_to_atom(port_control(P, $K, "")).
% /dev/null cannot be polled by epoll: accepted, and always ready. (ERTS
% may call this stop_select a little later: wait before reading the log.)
port_control(P, $F, "").
receive {P, {data, T4}} -> list_to_atom(T4) after 2000 -> timeout end.
receive {P, {data, T5}} -> list_to_atom(T5) after 300 -> none end.
list_to_atom(port_control(P, $K, "")).
port_control(P, $n, "").
flush().

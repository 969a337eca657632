% A job whose port closes before it ends: no ready_async; async_free gets
% the data back. Jobs that end while their port is open never see
% async_free.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, async_drv).
W = open_port({spawn_driver, "async_drv"}, []).
P = open_port({spawn_driver, "async_drv"}, []).
port_control(P, $a, "5") > "".
receive {P, {data, T1}} -> list_to_atom(T1) after 2000 -> timeout end.
port_control(P, $w, "").
port_close(P).
receive M -> M after 300 -> none end.
list_to_atom(port_control(W, $K, "")).
% Jobs queued behind the blocked one, on a port killed meanwhile.
process_flag(trap_exit, true).
P2 = open_port({spawn_driver, "async_drv"}, []).
port_control(P2, $w, "").
port_control(P2, $k, "3").
exit(P2, kill).
receive {'EXIT', P2, R} -> R after 2000 -> timeout end.
receive M2 -> M2 after 500 -> none end.
list_to_atom(port_control(W, $K, "")).
flush().

% A port closed (or killed) with its timer armed: stop runs, the timeout
% callback never does.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, timer_drv).
W = open_port({spawn_driver, "timer_drv"}, []).
P = open_port({spawn_driver, "timer_drv"}, []).
port_control(P, $s, "30").
port_close(P).
receive M1 -> M1 after 300 -> none end.
list_to_atom(port_control(W, $K, "")).
process_flag(trap_exit, true).
Q = open_port({spawn_driver, "timer_drv"}, []).
port_control(Q, $s, "30").
exit(Q, kill).
receive {'EXIT', Q, R} -> R after 2000 -> timeout end.
receive M2 -> M2 after 300 -> none end.
list_to_atom(port_control(W, $K, "")).
% Timers of other ports are not disturbed.
A = open_port({spawn_driver, "timer_drv"}, []).
B = open_port({spawn_driver, "timer_drv"}, []).
port_control(A, $s, "60").
port_control(B, $s, "30").
port_close(B).
receive {A, {data, T1}} -> list_to_atom(T1) after 2000 -> timeout end.
receive M3 -> M3 after 200 -> none end.
list_to_atom(port_control(W, $K, "")).
flush().

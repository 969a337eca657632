% A port that terminates with descriptors still selected (ERL_DRV_USE): ERTS
% deselects them without calling stop_select ("driver gone away without
% deselecting"); a driver that releases them in stop gets stop_select there.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, select_drv).
W = open_port({spawn_driver, "select_drv"}, []).
A = open_port({spawn_driver, "select_drv"}, []).
port_control(A, $X, "").
is_integer(list_to_integer(port_control(A, $L, ""))).
port_close(A).
receive X1 -> X1 after 300 -> none end.
list_to_atom(port_control(W, $K, "")).
B = open_port({spawn_driver, "select_drv desel"}, []).
port_control(B, $X, "").
is_integer(list_to_integer(port_control(B, $L, ""))).
port_close(B).
list_to_atom(port_control(W, $K, "")).
% Killed: stop runs all the same.
process_flag(trap_exit, true).
C = open_port({spawn_driver, "select_drv desel"}, []).
port_control(C, $X, "").
exit(C, kill).
receive X2 -> X2 after 2000 -> timeout end.
list_to_atom(port_control(W, $K, "")).
D2 = open_port({spawn_driver, "select_drv"}, []).
port_control(D2, $X, "").
exit(D2, kill).
receive X3 -> X3 after 2000 -> timeout end.
list_to_atom(port_control(W, $K, "")).
flush().

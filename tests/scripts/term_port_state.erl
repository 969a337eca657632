% Term output and the port's state. From start, all four functions deliver
% (1). While the port is closing (port_close with a non-empty driver queue,
% in flush) they send nothing and return 0. From stop after a port_close of
% a port with an empty queue they deliver (1). Right after
% driver_failure_atom in a callback the port is gone: -1, nothing sent.
% (Each port's driver records the results; $G on another port reads them.)
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, term_drv).
P = open_port({spawn_driver, "term_drv"}, []).
P2 = open_port({spawn_driver, "term_drv start"}, []).
list_to_atom(port_control(P, $G, "")).
flush().
port_control(P2, $K, "").
port_close(P2).
list_to_atom(port_control(P, $G, "")).
flush().
P3 = open_port({spawn_driver, "term_drv"}, []).
port_control(P3, $Z, "").
port_close(P3).
list_to_atom(port_control(P, $G, "")).
flush().
process_flag(trap_exit, true).
P4 = open_port({spawn_driver, "term_drv"}, []).
port_control(P4, $X, "").
list_to_atom(port_control(P, $G, "")).
flush().

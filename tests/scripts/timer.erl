% driver_set_timer: the timeout callback runs and its output is delivered.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
port_control(P, $T, "10").
receive T -> T after 2000 -> timeout end.
port_control(P, $K, "").

% driver_failure(P, 3) without trap_exit: the script dies with reason 3 before the value of the failing port_control is printed.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
port_control(P, $f, "3").
not_reached.

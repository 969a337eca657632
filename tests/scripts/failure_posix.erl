% driver_failure_posix(P, EPIPE) without trap_exit: the script dies with reason epipe before the failing port_control's value is printed.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
port_control(P, $p, "32").
not_reached.

% driver_failure_atom(P, "boom") without trap_exit: the script dies with reason boom before the failing port_control's value is printed.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
port_control(P, $a, "boom").
not_reached.

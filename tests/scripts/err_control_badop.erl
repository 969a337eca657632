% port_control with an operation that does not fit in 32 bits: badarg.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
port_control(P, 4294967296, "").

% port_close on a port that is already closed: badarg.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
port_close(P).
port_close(P).

% port_command on a closed port: badarg.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
port_close(P).
port_command(P, "x").

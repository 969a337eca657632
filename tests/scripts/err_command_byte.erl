% port_command with an integer that is not a byte: badarg.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
port_command(P, [1, 256]).

% port_command/3 with an unknown option: badarg.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
port_command(P, "x", [bad_option]).

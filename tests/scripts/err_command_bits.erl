% port_command with a bitstring that is not a whole number of bytes: badarg.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
port_command(P, [1, <<1:7>>]).

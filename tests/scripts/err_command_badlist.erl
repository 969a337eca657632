% port_command with something that is not iodata: badarg; the driver is not
% called (no message).
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
port_command(P, [1, 2, foo]).

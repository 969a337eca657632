% A message to a port that is not {Pid, Command}: the port exits with
% badsig, which kills the owner that does not trap exits (after the send's
% value is printed).
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
P ! foo.
not_reached.

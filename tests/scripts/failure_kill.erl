% exit(Port, kill) from the owner without trap_exit: the port dies with
% reason killed and the linked script dies with it.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
exit(P, kill).
not_reached.

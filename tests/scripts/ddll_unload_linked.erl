% erl_ddll:unload_driver/1 kills the driver's ports (kill_ports); the owner
% of one, linked and not trapping exits, dies inside the call: the value of
% unload_driver is never printed.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
erl_ddll:unload_driver(probe_drv).
never_reached.

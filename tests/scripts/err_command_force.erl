% port_command/3 with [force] on a driver without ERL_DRV_FLAG_SOFT_BUSY:
% the notsup error.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
port_command(P, "x", [force]).

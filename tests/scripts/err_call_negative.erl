% A call callback returning a negative value: badarg.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
erlang:port_call(P, 5, x).

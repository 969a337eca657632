% A call callback whose reply is not in the external term format: badarg.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
erlang:port_call(P, 1, x).

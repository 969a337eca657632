% port_call on a driver without a call callback (start_error_drv): badarg.
erl_ddll:load_driver("@DRIVERS@", start_error_drv).
P = open_port({spawn_driver, "start_error_drv ok"}, []).
erlang:port_call(P, 0, x).

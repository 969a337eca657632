% start returns ERL_DRV_ERROR_GENERAL: open_port raises einval. The failed
% start uses up a port number (the next port's id shows it).
erl_ddll:load_driver("@DRIVERS@", start_error_drv).
P = open_port({spawn_driver, "start_error_drv ok"}, []).
erlang:port_info(P, id).
open_port({spawn_driver, "start_error_drv general"}, []).

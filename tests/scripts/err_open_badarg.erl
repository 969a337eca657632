% start returns ERL_DRV_ERROR_BADARG: open_port raises badarg.
erl_ddll:load_driver("@DRIVERS@", start_error_drv).
open_port({spawn_driver, "start_error_drv badarg"}, []).

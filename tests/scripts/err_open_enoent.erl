% start sets errno = ENOENT and returns ERL_DRV_ERROR_ERRNO.
erl_ddll:load_driver("@DRIVERS@", start_error_drv).
open_port({spawn_driver, "start_error_drv enoent"}, []).

% start sets errno = EACCES and returns ERL_DRV_ERROR_ERRNO: open_port
% raises the errno's atom.
erl_ddll:load_driver("@DRIVERS@", start_error_drv).
open_port({spawn_driver, "start_error_drv errno"}, []).

% An unknown option: badarg.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
open_port({spawn_driver, "probe_drv"}, [no_such_option]).

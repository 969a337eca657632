% A driver name that is not loaded: badarg.
open_port({spawn_driver, "no_such_drv arg"}, []).

% An empty command string: badarg.
open_port({spawn_driver, ""}, []).

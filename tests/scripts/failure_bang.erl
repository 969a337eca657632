% A driver that fails inside outputv after Port ! {Pid, {command, Data}},
% without trap_exit: the value of the send is printed, then the script dies
% before the next expression's value is printed.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
port_control(P, $W, "").
P ! {self(), {command, "abc"}}.
not_reached.

% A driver that fails inside outputv during port_command, without
% trap_exit: the script dies before port_command's value is printed.
erl_ddll:load_driver("@DRIVERS@", probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
port_control(P, $W, "").
port_command(P, "abc").
not_reached.

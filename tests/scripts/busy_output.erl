% A driver that sets its port busy from output (set_busy_port(port, 1) after
% each command): the next nosuspend command is refused until a control
% clears the state; clearing twice, or setting and clearing, is harmless.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, port_drv).
P = open_port({spawn_driver, "port_drv"}, []).
port_control(P, $o, "1").
port_command(P, "e").
port_command(P, "f", [nosuspend]).
port_command(P, ["f", <<"g">>], [nosuspend]).
port_control(P, $b, "0").
port_command(P, "g", [nosuspend]).
port_control(P, $o, "0").
port_control(P, $b, "0").
port_control(P, $b, "0").
port_command(P, "h", [nosuspend]).
port_control(P, $b, "1").
port_control(P, $b, "0").
port_command(P, <<"i">>, [nosuspend]).
flush().

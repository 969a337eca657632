% ERL_DRV_FLAG_SOFT_BUSY: while the port is busy, nosuspend still answers
% false, but force (with or without nosuspend) reaches output; a plain
% port_command waits for the timeout that clears the busy state.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, soft_busy_drv).
S = open_port({spawn_driver, "soft_busy_drv"}, []).
port_command(S, "x", [force]).
port_control(S, $b, "1").
port_command(S, "a", [nosuspend]).
port_command(S, "b", [force]).
port_command(S, "c", [force, nosuspend]).
port_command(S, "c", [nosuspend, force]).
erlang:port_info(S, output).
port_control(S, $B, "30").
port_command(S, "d").
flush().

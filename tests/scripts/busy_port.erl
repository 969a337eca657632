% set_busy_port from a control: port_command/3 with nosuspend answers false
% and the driver gets nothing (nor does port_info's output count it); force
% needs ERL_DRV_FLAG_SOFT_BUSY (notsup, with or without nosuspend); a plain
% port_command waits until the timeout clears the busy state (ERTS suspends
% the caller) and its data arrives after the timeout's own message. Then
% Port ! {self(), {command, D}} to a busy port: delivered once the timer
% clears the state (ERTS queues it; porthost's sender waits).
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, port_drv).
P = open_port({spawn_driver, "port_drv"}, []).
port_command(P, "a").
port_control(P, $b, "1").
port_command(P, "b", [nosuspend]).
port_command(P, "bb", [nosuspend]).
case catch port_command(P, "c", [force]) of {'EXIT', {R1, _}} -> R1 end.
case catch port_command(P, "c", [force, nosuspend]) of {'EXIT', {R2, _}} -> R2 end.
erlang:port_info(P, output).
flush().
port_control(P, $B, "50").
port_command(P, "d").
flush().
erlang:port_info(P, output).
port_command(P, "e", [nosuspend]).
port_control(P, $b, "1").
port_control(P, $B, "100").
P ! {self(), {command, "x"}}.
port_control(P, $F, "").
receive {P, {data, "got:x"}} -> got_x after 1000 -> timeout end.
flush().
erlang:port_info(P, output).
port_close(P).

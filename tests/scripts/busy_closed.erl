% A port_command waiting on a busy port whose driver fails meanwhile (its
% timeout calls driver_failure_atom): badarg, and the owner (trapping
% exits) gets the exit message. A later command: badarg too.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, port_drv).
process_flag(trap_exit, true).
P = open_port({spawn_driver, "port_drv"}, []).
port_control(P, $b, "1").
port_control(P, $Z, "50").
case catch port_command(P, "x") of {'EXIT', {R1, _}} -> R1 end.
flush().
case catch port_command(P, "y", [nosuspend]) of {'EXIT', {R2, _}} -> R2 end.
erl_ddll:info(port_drv, port_count).

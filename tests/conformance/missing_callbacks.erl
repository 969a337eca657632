% ERTS: driver_SUITE:missing_callbacks
% A driver whose entry has NULL for every callback but start and stop, and
% that arms a timer, input and output selects and an async job anyway:
% nothing crashes, the port stays open, port_command is accepted (the data
% is dropped), port_control and port_call raise badarg, port_close works.
process_flag(trap_exit, true).
ok = erl_ddll:load_driver("@DRIVERS@", cf_missing_drv).
P = open_port({spawn, cf_missing_drv}, []).
receive after 300 -> ok end.
erlang:port_info(P, name).
port_command(P, "data").
case catch port_control(P, 0, "") of {'EXIT', {R1, _}} -> R1; V1 -> V1 end.
case catch erlang:port_call(P, 0, x) of {'EXIT', {R2, _}} -> R2; V2 -> V2 end.
receive after 100 -> ok end.
erlang:port_info(P, name).
port_close(P).
receive after 100 -> ok end.
flush().

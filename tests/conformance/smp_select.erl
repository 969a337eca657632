% ERTS: driver_SUITE:smp_select, many_events
% Several processes at once, each owning a port that selects a pipe of its
% own: every process writes into its pipe many times and gets each byte
% back through ready_input, in order, with no input lost or crossed
% between ports.
ok = erl_ddll:load_driver("@DRIVERS@", cf_select_drv).
Main = self(), ok.
Work = fun(N) -> P = open_port({spawn, cf_select_drv}, []), port_control(P, $p, ""), port_control(P, $R, ""), R = [begin port_control(P, $w, ""), receive {P, {data, D}} -> D after 2000 -> timeout end end || _ <- lists:seq(1, N)], port_control(P, $x, ""), port_close(P), lists:usort(R) end, ok.
Pids = [spawn(fun() -> Main ! {done, I, Work(40)} end) || I <- lists:seq(1, 8)], ok.
lists:sort([receive {done, I, R} -> {I, R} after 30000 -> timeout end || _ <- Pids]).
[P || P <- erlang:ports(), erlang:port_info(P, name) =:= {name, "cf_select_drv"}].

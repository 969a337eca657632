% ERTS: port_SUITE:mon_port_local, mon_port_driver_die, mon_port_driver_die_demonitor, mon_port_invalid_type, mon_port_named, mon_port_bad_named, mon_port_pid_demonitor, mon_port_name_demonitor, mon_port_origin_dies
% Monitoring ports: DOWN on close (normal), on a driver failure (its
% reason), after demonitor nothing; a port already closed gives noproc at
% once; monitoring a port by registered name names it {Name, Node}; a pid
% is not a port (badarg); a monitor dies with the monitoring process; a
% port that is linked and monitored sends the EXIT before the DOWN.
ok = erl_ddll:load_driver("@BUNDLED@", echo_drv), ok = erl_ddll:load_driver("@TDRIVERS@", probe_drv).
Down = fun(R) -> receive {'DOWN', R, port, Obj, Why} -> {is_port(Obj) orelse Obj, Why} after 1000 -> none end end, ok.
P1 = open_port({spawn, echo_drv}, []), R1 = monitor(port, P1), port_close(P1), Down(R1).
Down(monitor(port, P1)).
process_flag(trap_exit, true).
P2 = open_port({spawn, probe_drv}, []), R2 = monitor(port, P2), port_control(P2, $a, "boom"), Down(R2).
receive {'EXIT', P2, E2} -> E2 after 1000 -> none end.
P3 = open_port({spawn, echo_drv}, []), R3 = monitor(port, P3), demonitor(R3), port_close(P3), Down(R3).
P4 = open_port({spawn, echo_drv}, []), true = register(cf_port, P4), R4 = monitor(port, cf_port), port_close(P4), receive {'DOWN', R4, port, {cf_port, N}, W4} -> {N =:= node(), W4} after 1000 -> none end.
R5 = monitor(port, cf_no_such_port), receive {'DOWN', R5, port, {cf_no_such_port, _}, W5} -> W5 after 1000 -> none end.
case catch monitor(port, self()) of {'EXIT', {B, _}} -> B; V -> V end.
P6 = open_port({spawn, echo_drv}, []), Main = self(), ok.
M = spawn(fun() -> monitor(port, P6), Main ! ready, receive stop -> ok end end), receive ready -> ok end, erlang:port_info(P6, monitored_by) =:= {monitored_by, [M]}.
Ref = monitor(process, M), M ! stop, receive {'DOWN', Ref, process, M, _} -> ok end, erlang:port_info(P6, monitored_by).
port_close(P6).
flush().
P7 = open_port({spawn, probe_drv}, []), R7 = monitor(port, P7), port_control(P7, $a, "bye"), [receive Msg -> element(1, Msg) after 1000 -> none end || _ <- [1, 2]].
flush().

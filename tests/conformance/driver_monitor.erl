% ERTS: driver_SUITE:driver_monitor
% A driver monitors processes: process_exit runs when a monitored process
% exits (driver_get_monitored_process still names it there), not after a
% demonitor (a second demonitor fails); two monitors compare by identity;
% a demonitored monitor names no process; a process that exits right after
% it is monitored fires its monitor.
ok = erl_ddll:load_driver("@DRIVERS@", cf_monitor_drv).
P = open_port({spawn, cf_monitor_drv}, []).
Main = self(), ok.
Spawn = fun(Slot) -> spawn(fun() -> Main ! {mon, port_control(P, $m, [Slot]), port_control(P, $g, [Slot])}, receive die -> ok end end) end, ok.
A = Spawn($1), receive {mon, _, _} = MA -> MA after 1000 -> timeout end.
B = Spawn($2), receive {mon, _, _} = MB -> MB after 1000 -> timeout end.
port_control(P, $c, "11").
port_control(P, $c, "12") =/= "0".
A ! die, receive {P, process_exit, S1, Pid1} -> {S1, Pid1 =:= A} after 2000 -> timeout end.
port_control(P, $d, "2").
port_control(P, $g, "2").
B ! die, receive {P, process_exit, _, _} = M2 -> M2 after 500 -> none end.
port_control(P, $m, "3").
port_control(P, $g, "3").
port_control(P, $d, "3").
port_control(P, $d, "3").
C = spawn(fun() -> receive {go, From} -> From ! {self(), port_control(P, $m, "4")} end end), C ! {go, self()}, receive {C, R} -> R after 1000 -> timeout end.
receive {P, process_exit, S2, _} -> S2 after 1000 -> none end.
port_close(P).
flush().

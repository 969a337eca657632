% driver_monitor_process on other processes (spawned; each calls
% port_control itself, so driver_caller is its pid): its end calls
% process_exit, in which driver_get_monitored_process still gives the pid;
% the monitor is gone after. Demonitored first: no process_exit. A pid that
% has ended: 1. Two monitors on one process, killed: both fire, each
% identified by driver_compare_monitors. A process that owns the port and
% is monitored by it: its end closes the port; the event log shows whether
% process_exit ran before stop.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, port_drv).
Main = self(), ok.
P = open_port({spawn_driver, "port_drv"}, []).
B = spawn(fun() -> Main ! {b, port_control(P, $m, "0"), port_control(P, $g, "0")}, receive go -> ok end end).
receive {b, R1, G1} -> {R1, G1} after 1000 -> timeout end.
erlang:port_info(P, monitors) =:= {monitors, [{process, B}]}.
B ! go.
receive {P, {data, X1}} -> X1 after 1000 -> timeout end.
port_control(P, $g, "0").
erlang:port_info(P, monitors).
B2 = spawn(fun() -> Main ! {b2, port_control(P, $m, "1")}, receive go -> ok end end).
receive {b2, R2} -> R2 after 1000 -> timeout end.
port_control(P, $u, "1").
M2 = monitor(process, B2), B2 ! go, receive {'DOWN', M2, process, B2, _} -> down after 1000 -> timeout end.
receive {P, {data, X2}} -> X2 after 200 -> none end.
B3 = spawn(fun() -> Main ! {b3, port_control(P, $s, "")} end).
receive {b3, R3} -> R3 after 1000 -> timeout end.
M3 = monitor(process, B3), receive {'DOWN', M3, process, B3, _} -> down after 1000 -> timeout end.
port_control(P, $M, "2").
port_control(P, $g, "2").
B4 = spawn(fun() -> Main ! {b4, port_control(P, $m, "0"), port_control(P, $m, "1"), port_control(P, $C, "0 1")}, receive never -> ok end end).
receive {b4, R40, R41, C4} -> {R40, R41, C4} after 1000 -> timeout end.
exit(B4, kill).
receive {P, {data, "process_exit slot=0" ++ W0}} -> W0 after 1000 -> timeout end.
receive {P, {data, "process_exit slot=1" ++ W1}} -> W1 after 1000 -> timeout end.
erlang:port_info(P, monitors).
port_control(P, $K, "").
B5 = spawn(fun() -> Q = open_port({spawn_driver, "port_drv"}, []), Main ! {b5, Q, port_control(Q, $m, "0")}, receive go -> ok end end).
Q5 = receive {b5, Q, R5} -> R5, Q after 1000 -> timeout end.
M5 = monitor(process, B5), B5 ! go, receive {'DOWN', M5, process, B5, _} -> down after 1000 -> timeout end.
erlang:port_info(Q5).
port_control(P, $K, "").
flush().

% Closing: port_close (returns true, the trapping owner still gets
% {'EXIT',P,normal}), Port ! {Pid, close} (the owner gets the EXIT and then
% {Port, closed}), flush called only when the queue is not empty, stop after
% it, a port lingering while its queue is not empty, exit/2 on a port
% (flushes; kill does not), driver_exit with a queue (no flush). probe_drv's
% event log ($K on another probe port) shows the callbacks.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, probe_drv).
process_flag(trap_exit, true).
L = open_port({spawn_driver, "probe_drv logger"}, []).
port_control(L, $K, "").
P1 = open_port({spawn_driver, "probe_drv"}, []).
port_close(P1).
port_control(L, $K, "").
flush().
erlang:port_info(P1).
P2 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P2, $q, "abc").
erlang:port_info(P2, queue_size).
port_close(P2).
port_control(L, $K, "").
flush().
P3 = open_port({spawn_driver, "probe_drv"}, []).
P3 ! {self(), close}.
receive C3 -> C3 after 1000 -> timeout end.
receive D3 -> D3 after 1000 -> timeout end.
port_control(L, $K, "").
P4 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P4, $q, "abc").
P4 ! {self(), close}.
receive C4 -> C4 after 1000 -> timeout end.
receive D4 -> D4 after 1000 -> timeout end.
port_control(L, $K, "").
P5 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P5, $q, "abc").
port_control(P5, $k, "").
port_close(P5).
port_control(L, $K, "").
flush().
erlang:port_info(P5).
erlang:port_info(P5, queue_size).
lists:member(P5, erlang:ports()).
P6 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P6, $q, "abc").
port_control(P6, $x, "0").
port_control(L, $K, "").
flush().
P7 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P7, $q, "abc").
exit(P7, foo).
receive C7 -> C7 after 1000 -> timeout end.
port_control(L, $K, "").
P8 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P8, $q, "abc").
exit(P8, kill).
receive C8 -> C8 after 1000 -> timeout end.
port_control(L, $K, "").
P9 = open_port({spawn_driver, "probe_drv"}, []).
exit(P9, normal).
receive C9 -> C9 after 1000 -> timeout end.
port_control(L, $K, "").
P10 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P10, $q, "abc").
port_control(P10, $f, "1").
receive C10 -> C10 after 1000 -> timeout end.
port_control(L, $K, "").
erlang:port_info(P10).
flush().

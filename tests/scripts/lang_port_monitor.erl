% erlang:monitor(port, Port): {'DOWN', Ref, port, Port, Reason} when the
% port closes (normal) or is killed (killed), noproc at once for a closed
% port or a name not registered; demonitor/1,2 with flush and info;
% process_info(self(), monitors) lists the port; badarg cases.
erl_ddll:load_driver("@BUNDLED@", echo_drv).
P = open_port({spawn_driver, "echo_drv"}, []).
R = erlang:monitor(port, P), is_reference(R).
process_info(self(), monitors).
port_close(P).
receive {'DOWN', R, port, P, Why} -> {down, Why} after 1000 -> timeout end.
process_info(self(), monitors).
R2 = erlang:monitor(port, P), ok.
receive {'DOWN', R2, port, P, Why2} -> {down2, Why2} after 1000 -> timeout end.
P3 = open_port({spawn_driver, "echo_drv"}, []).
R3 = erlang:monitor(port, P3), ok.
erlang:demonitor(R3).
port_close(P3).
receive {'DOWN', R3, _, _, _} -> got_down after 100 -> no_down end.
process_flag(trap_exit, true).
P4 = open_port({spawn_driver, "echo_drv"}, []).
R4 = erlang:monitor(port, P4), ok.
exit(P4, kill).
receive {'DOWN', R4, port, P4, Why4} -> {down4, Why4} after 1000 -> timeout end.
flush().
P5 = open_port({spawn_driver, "echo_drv"}, []).
R5 = erlang:monitor(port, P5), ok.
port_close(P5).
timer:sleep(10).
erlang:demonitor(R5, [flush]).
flush().
erlang:demonitor(R5, [info]).
P6 = open_port({spawn_driver, "echo_drv"}, []).
R6 = erlang:monitor(port, P6), ok.
erlang:demonitor(R6, [info]).
erlang:demonitor(R6, [info]).
port_close(P6).
R7 = erlang:monitor(port, not_a_registered_port), ok.
receive {'DOWN', R7, port, Who, Why7} -> {Who, Why7} after 1000 -> timeout end.
try erlang:monitor(port, self()) catch C:E -> {C, E} end.
try erlang:monitor(bad, P6) catch C3:E3 -> {C3, E3} end.
try erlang:demonitor(x) catch C4:E4 -> {C4, E4} end.
try erlang:demonitor(R6, [bad]) catch C5:E5 -> {C5, E5} end.

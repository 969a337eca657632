% monitor/2 and the {'DOWN', Ref, process, Pid, Reason} message: for a
% normal end, an exit, a dead process (noproc), after demonitor/1 (none);
% spawn_monitor/1; register/2 and sending by name; a child's own children.
Main = self(), ok.
P = spawn(fun() -> receive go -> exit(done) end end).
M = monitor(process, P), P ! go, receive {'DOWN', M, process, P, R} -> R after 1000 -> timeout end.
M2 = monitor(process, P), receive {'DOWN', M2, process, P, R2} -> R2 after 1000 -> timeout end.
Q = spawn(fun() -> receive go -> ok end end).
MQ = monitor(process, Q), demonitor(MQ).
MQ2 = monitor(process, Q), Q ! go, receive {'DOWN', MQ2, process, Q, RQ} -> RQ after 1000 -> timeout end.
flush().
{S, MS} = spawn_monitor(fun() -> exit(monitored) end), receive {'DOWN', MS, process, S, RS} -> RS after 1000 -> timeout end.
Server = spawn(fun() -> Loop = fun L() -> receive {From, Msg} -> From ! {echo, Msg}, L(); stop -> ok end end, Loop() end).
register(echo_server, Server).
echo_server ! {Main, hello}, receive {echo, E} -> E after 1000 -> timeout end.
whereis(echo_server) =:= Server.
MW = monitor(process, Server), echo_server ! stop, receive {'DOWN', MW, process, Server, RW} -> RW after 1000 -> timeout end.
whereis(echo_server).
Parent = spawn(fun() ->
    Kid = spawn(fun() -> receive {From, N} -> From ! N * 2 end end),
    Kid ! {self(), 21},
    receive Answer -> Main ! {answer, Answer} end
end), receive {answer, A} -> A after 1000 -> timeout end.
F = fun(X) -> X + 1 end, spawn(fun() -> Main ! {applied, F(41)} end), receive {applied, V} -> V end.
spawn(fun() -> receive never -> ok end end), abandoned.

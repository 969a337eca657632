% spawn_link/1 with exits trapped: the link's exit signal arrives as
% {'EXIT', Pid, Reason} for a normal end, exit/1, an error (reason
% {Error, Stack}: only the error is printed, porthost keeps no stack) and
% an uncaught throw ({{nocatch, Value}, Stack}). link/1 and unlink/1 on a
% process; linking to a dead process gives {'EXIT', Pid, noproc}.
process_flag(trap_exit, true).
Run = fun(Body) ->
    Pid = spawn_link(fun() -> receive go -> Body() end end),
    Pid ! go,
    receive {'EXIT', Pid, R} -> R after 1000 -> timeout end
end, ok.
Run(fun() -> done end).
Run(fun() -> exit(boom) end).
case Run(fun() -> 1 + list_to_atom("a") end) of {E1, S1} -> {E1, is_list(S1)} end.
case Run(fun() -> throw(ball) end) of {T, S2} -> {T, is_list(S2)} end.
case Run(fun() -> erlang:error({my, error}) end) of {E2, _} -> E2 end.
Run(fun() -> exit(normal) end).
Main = self(), ok.
W = spawn(fun() -> receive {link, From} -> link(From), From ! linked end, receive go -> exit(late) end end).
W ! {link, Main}, receive linked -> ok end.
W ! go, receive {'EXIT', W, RW} -> RW after 1000 -> timeout end.
U = spawn(fun() -> receive go -> exit(unlinked) end end).
link(U).
unlink(U).
MU = monitor(process, U), U ! go, receive {'DOWN', MU, process, U, RU} -> RU end.
link(U).
receive {'EXIT', U, RN} -> RN after 1000 -> timeout end.
flush().

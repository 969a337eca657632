% exit/2 on processes: kill ends even a process that traps exits (reason
% killed, and its links get killed); normal is ignored by a process that
% does not trap exits; another reason reaches a trapping process as a
% message; exit(self(), normal) ends the caller... shown in a child.
process_flag(trap_exit, true).
Main = self(), ok.
Trapper = spawn_link(fun() ->
    process_flag(trap_exit, true),
    Main ! ready,
    Loop = fun L() -> receive M -> Main ! {trapper_got, M}, L() end end,
    Loop()
end).
receive ready -> ok end.
exit(Trapper, polite).
receive {trapper_got, {'EXIT', Main, Why}} -> Why after 1000 -> timeout end.
exit(Trapper, kill).
receive {'EXIT', Trapper, R} -> R after 1000 -> timeout end.
is_process_alive(Trapper).
Plain = spawn(fun() -> receive stop -> ok end end).
exit(Plain, normal).
MP = monitor(process, Plain), Plain ! ping, is_process_alive(Plain).
exit(Plain, bye), receive {'DOWN', MP, process, Plain, RP} -> RP after 1000 -> timeout end.
Self = spawn(fun() -> receive go -> exit(self(), normal), not_reached end end).
MS = monitor(process, Self), Self ! go, receive {'DOWN', MS, process, Self, RS} -> RS after 1000 -> timeout end.
Quitter = spawn_link(fun() -> receive go -> exit(quit) end end).
Quitter ! go, receive {'EXIT', Quitter, RQ} -> RQ after 1000 -> timeout end.
flush().

% Closing an external port: port_close (true, then {'EXIT', P, normal} for
% a trapping owner), {Pid, close} (then {P, closed}), exit/2 (reason as
% given; kill gives killed; normal from the owner closes too), the
% owner's death. ERTS does not kill the
% child: cat exits at EOF on its stdin. port_info: name is the command as
% given, os_pid the child's pid; after close, undefined.
process_flag(trap_exit, true).
P1 = open_port({spawn, "cat"}, []).
{name, N1} = erlang:port_info(P1, name).
{os_pid, Os1} = erlang:port_info(P1, os_pid), is_integer(Os1).
erlang:port_info(P1, connected) =:= {connected, self()}.
erlang:port_info(P1, links) =:= {links, [self()]}.
port_command(P1, "x").
receive {P1, {data, D1}} -> D1 after 1000 -> timeout end.
erlang:port_info(P1, input).
erlang:port_info(P1, output).
port_close(P1).
receive M1 -> M1 after 1000 -> timeout end.
erlang:port_info(P1, os_pid).
case catch port_close(P1) of {'EXIT', {R1, _}} -> R1 end.
P2 = open_port({spawn_executable, "/bin/cat"}, [{arg0, "kitty"}]).
erlang:port_info(P2, name).
P2 ! {self(), close}.
receive M2 -> M2 after 1000 -> timeout end.
receive M3 -> M3 after 1000 -> timeout end.
P3 = open_port({spawn, "cat"}, []).
exit(P3, foo).
receive M4 -> M4 after 1000 -> timeout end.
P4 = open_port({spawn, "cat"}, []).
exit(P4, kill).
receive M5 -> M5 after 1000 -> timeout end.
P5 = open_port({spawn, "cat"}, []).
exit(P5, normal).
receive M6 -> M6 after 1000 -> timeout end.
lists:member(P5, erlang:ports()).
Self = self(), ok.
Owner = spawn(fun() -> P = open_port({spawn, "cat"}, []), Self ! {port, P}, receive stop -> ok end end).
P6 = receive {port, P} -> P after 1000 -> timeout end.
lists:member(P6, erlang:ports()).
Ref = monitor(process, Owner), ok.
Owner ! stop.
receive {'DOWN', Ref, process, Owner, R2} -> R2 after 1000 -> timeout end.
lists:member(P6, erlang:ports()).
P7 = open_port({spawn, "cat"}, [exit_status]).
port_command(P7, "data before close").
port_close(P7).
% What cat echoed may come before the close or not (ERTS races here too);
% the rest is the EXIT alone: no exit_status after port_close.
Msgs7 = (fun L(Acc) -> receive M -> L([M | Acc]) after 300 -> lists:reverse(Acc) end end)([]), ok.
[M || M <- Msgs7, not (element(1, M) =:= P7 andalso element(1, element(2, M)) =:= data)].

% stream (the default): each read of the child's output is a message, as a
% list or (binary) a binary. Without eof the port closes with reason normal
% at EOF; with eof it sends {Port, eof} and stays open until closed (and
% can still be written to). One write from the child, so one message.
process_flag(trap_exit, true).
P1 = open_port({spawn, "printf hello"}, []).
receive M1 -> M1 after 1000 -> timeout end.
receive M2 -> M2 after 1000 -> timeout end.
P2 = open_port({spawn, "printf hello"}, [binary, stream]).
receive M3 -> M3 after 1000 -> timeout end.
receive M4 -> M4 after 1000 -> timeout end.
P3 = open_port({spawn, "sh -c 'printf ready; exec 1>&-; read x; exit 0'"}, [eof, exit_status]).
receive M5 -> M5 after 1000 -> timeout end.
receive M6 -> M6 after 300 -> timeout end.
lists:member(P3, erlang:ports()).
port_command(P3, "go\n").
receive M7 -> M7 after 1000 -> timeout end.
receive M8 -> M8 after 1000 -> timeout end.
receive M9 -> M9 after 300 -> timeout end.
port_close(P3).
receive M10 -> M10 after 1000 -> timeout end.
P4 = open_port({spawn, "cat"}, [binary]).
port_command(P4, <<"abc">>).
receive {P4, {data, D1}} -> D1 after 1000 -> timeout end.
port_command(P4, ["de", [$f], <<"g">>]).
receive {P4, {data, D2}} -> D2 after 1000 -> timeout end.
port_close(P4).
receive M11 -> M11 after 1000 -> timeout end.
receive M12 -> M12 after 300 -> timeout end.

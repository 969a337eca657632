% exit_status: the child's exit code, or 128 + the signal that killed it,
% sent before eof (with eof) or before the port closes with reason normal
% (without); it waits for the child to exit when the child closes its
% stdout first. A command the shell cannot find exits 127. Without
% exit_status nothing but the close.
process_flag(trap_exit, true).
P1 = open_port({spawn, "sh -c 'exit 3'"}, [exit_status]).
receive M1 -> M1 after 2000 -> timeout end.
receive M2 -> M2 after 2000 -> timeout end.
P2 = open_port({spawn, "kill -9 $$"}, [exit_status, eof]).
receive M3 -> M3 after 2000 -> timeout end.
receive M4 -> M4 after 2000 -> timeout end.
receive M5 -> M5 after 300 -> timeout end.
port_close(P2).
receive M6 -> M6 after 2000 -> timeout end.
P3 = open_port({spawn, "sh -c 'exec 1>&-; sleep 0.3; exit 4'"}, [exit_status, eof]).
receive M7 -> M7 after 2000 -> timeout end.
receive M8 -> M8 after 2000 -> timeout end.
port_close(P3).
receive M9 -> M9 after 2000 -> timeout end.
P4 = open_port({spawn, "nonexistent_command_for_porthost"}, [exit_status]).
receive M10 -> M10 after 2000 -> timeout end.
receive M11 -> M11 after 2000 -> timeout end.
P5 = open_port({spawn, "sh -c 'echo hi; kill -15 $$'"}, []).
receive M12 -> M12 after 2000 -> timeout end.
receive M13 -> M13 after 2000 -> timeout end.
P6 = open_port({spawn_executable, "/bin/sh"}, [{args, ["-c", "exit 200"]}, exit_status, binary]).
receive M14 -> M14 after 2000 -> timeout end.
receive M15 -> M15 after 2000 -> timeout end.
flush().

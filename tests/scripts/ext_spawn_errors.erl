% What goes wrong when the program cannot run: spawn_executable checks the
% file (access X_OK) and raises enoent / eacces / enotdir; a directory
% passes that check and the child exits 13 (EACCES from execve); a bad cd
% makes the child exit 2 (ENOENT); a relative file is not searched in PATH.
process_flag(trap_exit, true).
E = fun(N, O) -> case catch open_port(N, O) of {'EXIT', {R, _}} -> R; P -> catch port_close(P), opened end end, ok.
E({spawn_executable, "/nonexistent/program"}, []).
E({spawn_executable, "/etc/passwd"}, []).
E({spawn_executable, "/etc/passwd/x"}, []).
E({spawn_executable, "cat"}, []).
E({spawn_executable, "/bin/cat/"}, []).
P1 = open_port({spawn_executable, "/"}, [exit_status]).
receive M1 -> M1 after 2000 -> timeout end.
receive M2 -> M2 after 2000 -> timeout end.
P2 = open_port({spawn_executable, "/bin/cat"}, [{cd, "/nonexistent/dir"}, exit_status]).
receive M3 -> M3 after 2000 -> timeout end.
receive M4 -> M4 after 2000 -> timeout end.
P3 = open_port({spawn, "cat"}, [{cd, "/nonexistent/dir"}, exit_status]).
receive M5 -> M5 after 2000 -> timeout end.
receive M6 -> M6 after 2000 -> timeout end.
flush().

% nouse_stdio: the child reads fd 3 and writes fd 4; stderr_to_stdout:
% the child's stderr comes as data; in alone: the child's stdin is closed
% at once (cat exits 0) and port_command is badarg; out alone: nothing is
% read, so no eof and no exit_status, ever; writing to the child once it
% has exited makes the port exit with epipe.
process_flag(trap_exit, true).
P1b = open_port({spawn, "sh -c 'head -c 7 <&3 >&4'"}, [nouse_stdio, exit_status]).
port_command(P1b, "abcdefg").
receive {P1b, {data, D1}} -> D1 after 1000 -> timeout end.
receive M1 -> M1 after 1000 -> timeout end.
receive M2 -> M2 after 1000 -> timeout end.
P2 = open_port({spawn, "sh -c 'echo err >&2'"}, [stderr_to_stdout, exit_status]).
receive M4 -> M4 after 1000 -> timeout end.
receive M5 -> M5 after 1000 -> timeout end.
receive M6 -> M6 after 1000 -> timeout end.
P3 = open_port({spawn, "cat"}, [in, exit_status]).
receive M7 -> M7 after 1000 -> timeout end.
receive M8 -> M8 after 1000 -> timeout end.
case catch port_command(P3, "x") of {'EXIT', {R1, _}} -> R1 end.
P4 = open_port({spawn, "cat"}, [in, out, exit_status]).
port_command(P4, "both").
receive {P4, {data, D2}} -> D2 after 1000 -> timeout end.
port_close(P4).
receive M9 -> M9 after 1000 -> timeout end.
P5 = open_port({spawn, "sh -c 'exit 3'"}, [out, exit_status]).
receive M10 -> M10 after 500 -> timeout end.
port_command(P5, "ignored").
receive M11 -> M11 after 1000 -> timeout end.

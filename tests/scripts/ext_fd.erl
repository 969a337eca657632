% {fd, In, Out}: a port on descriptors porthost already has; no child
% (os_pid undefined); the descriptors stay open when the port closes.
% Writing to fd 2 (stderr, not compared), nothing read (out).
process_flag(trap_exit, true).
P1 = open_port({fd, 0, 2}, [out]).
erlang:port_info(P1, os_pid).
erlang:port_info(P1, name).
port_command(P1, "porthost ext_fd: this line goes to stderr\n").
port_close(P1).
receive M1 -> M1 after 1000 -> timeout end.
P2 = open_port({fd, 0, 2}, [out, {packet, 2}]).
port_close(P2).
receive M2 -> M2 after 1000 -> timeout end.

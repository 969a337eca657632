% port_connect/2 and Port ! {Pid, {connect, NewPid}} (the reply
% {Port, connected}); port_connect links the new owner; unlink/link on a
% port; a message to a port that is not {Pid, Command} makes it exit with
% badsig.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, probe_drv).
process_flag(trap_exit, true).
P = open_port({spawn_driver, "probe_drv"}, []).
port_connect(P, self()).
flush().
erlang:port_info(P, connected).
erlang:port_info(P, links).
P ! {self(), {connect, self()}}.
receive C1 -> C1 after 1000 -> timeout end.
unlink(P).
erlang:port_info(P, links).
port_connect(P, self()).
erlang:port_info(P, links).
link(P).
erlang:port_info(P, links).
port_control(P, $C, "").
P ! {self(), {command, "via bang"}}.
receive C2 -> C2 after 1000 -> timeout end.
P ! {self(), foo}.
receive C3 -> C3 after 1000 -> timeout end.
erlang:port_info(P).
P2 = open_port({spawn_driver, "probe_drv"}, []).
P2 ! foo.
receive C4 -> C4 after 1000 -> timeout end.
flush().

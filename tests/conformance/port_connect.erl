% ERTS: port_SUITE:otp_3906, otp_5112, otp_5119, port_connect (driver ports)
% Ownership: Port ! {Owner, {connect, New}} answers {Port, connected} to
% the old owner and does not link New (the port keeps its links);
% port_connect/2 does link. A {Pid, {command, D}} message from a process
% that is not the owner sends the owner an exit signal badsig (it dies; the
% port lives on); {Owner, close} answers {Port, closed}; port_close works
% for any process; a closed port's id is not reused by the next port.
ok = erl_ddll:load_driver("@BUNDLED@", echo_drv).
Main = self(), ok.
P = open_port({spawn, echo_drv}, []).
Loop = fun L() -> receive {send, Port, D} -> Port ! {self(), {command, D}}, L(); {Port, {data, D}} -> Main ! {got, self(), D}, L(); stop -> ok end end, ok.
New = spawn(Loop), NewRef = monitor(process, New), ok.
P ! {self(), {connect, New}}, receive {P, connected} -> connected after 1000 -> none end.
{erlang:port_info(P, connected) =:= {connected, New}, erlang:port_info(P, links) =:= {links, [Main]}}.
New ! {send, P, "hello"}, receive {got, New, D1} -> D1 after 1000 -> none end.
P ! {self(), {command, "not mine"}}, receive {'DOWN', NewRef, process, New, W} -> W after 1000 -> none end.
receive M1 -> M1 after 200 -> none end.
erlang:port_info(P, name).
port_close(P), erlang:port_info(P, name).
Q = open_port({spawn, echo_drv}, []).
New2 = spawn(Loop), ok.
port_connect(Q, New2).
erlang:port_info(Q, links) =:= {links, [Main, New2]} orelse erlang:port_info(Q, links) =:= {links, [New2, Main]}.
New2 ! {send, Q, "again"}, receive {got, New2, D2} -> D2 after 1000 -> none end.
unlink(Q), exit(New2, kill), receive after 100 -> ok end, erlang:port_info(Q, name).
R = open_port({spawn, echo_drv}, []).
R ! {self(), close}, receive {R, closed} -> closed after 1000 -> none end.
lists:usort([P, Q, R]) =:= lists:sort([P, Q, R]).
flush().

% ERTS: port_SUITE:bad_port_messages, bad_message
% Messages a port does not understand: a port sent a message that is not
% {Pid, {command, Data}}, {Pid, close} or {Pid, {connect, Pid}}, or a
% command whose data is not an iolist, or one with a sender that is not a
% pid, exits with badsig; its owner (trapping exits) gets
% {'EXIT', Port, badsig}.
process_flag(trap_exit, true).
ok = erl_ddll:load_driver("@BUNDLED@", echo_drv).
Try = fun(Msg) -> P = open_port({spawn, echo_drv}, []), P ! Msg(P), R = receive {'EXIT', P, Why} -> Why after 1000 -> alive end, {R, erlang:port_info(P, name)} end, ok.
Try(fun(_) -> foo end).
Try(fun(_) -> {self(), foo} end).
Try(fun(_) -> {self(), {command, 1.5}} end).
Try(fun(_) -> {self(), {command, [1 | 2]}} end).
Try(fun(_) -> {self(), {command, [256]}} end).
Try(fun(_) -> {self(), {connect, 3}} end).
Try(fun(_) -> {foo, {command, "x"}} end).
Try(fun(_) -> {self(), {command, "x", extra}} end).
Try(fun(_) -> {self(), close, extra} end).
Try(fun(P) -> {P, {command, "x"}} end).
flush().

% ERTS: driver_SUITE:caller; issue 11 item 1
% driver_caller in start, output, outputv, control and call is the process
% that made the request: the opener, a process that calls port_command,
% port_control or port_call on a port it does not own, and the sender of
% Port ! {Owner, {command, Data}} (not the owner named in the message).
D = "@DRIVERS@", ok = erl_ddll:load_driver(D, cf_caller_drv), ok = erl_ddll:load_driver(D, cf_callerv_drv).
Main = self(), ok.
Check = fun(P) -> receive {P, Cb, C} -> {Cb, C =:= self()} after 2000 -> timeout end end, ok.
Test = fun(Drv) ->
    P = open_port({spawn, Drv}, []),
    Start = Check(P),
    Other = fun(F) -> spawn(fun() -> F(), Main ! {res, Check(P)} end), receive {res, R} -> R after 3000 -> timeout end end,
    Out = Other(fun() -> port_command(P, "x") end),
    Ctl = Other(fun() -> port_control(P, 0, "") end),
    Call = Other(fun() -> erlang:port_call(P, 0, hi) end),
    Msg = Other(fun() -> P ! {Main, {command, "y"}} end),
    Own = [port_command(P, "z"), Check(P)],
    port_close(P),
    [Start, Out, Ctl, Call, Msg, Own]
end, ok.
Test(cf_caller_drv).
Test(cf_callerv_drv).
flush().

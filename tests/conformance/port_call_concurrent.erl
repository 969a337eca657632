% ERTS: driver_SUITE:otp_6879
% Several processes call erlang:port_call on one port at the same time,
% each with a large term of its own (a reply larger than the host's reply
% buffer); every call returns its own argument.
ok = erl_ddll:load_driver("@DRIVERS@", cf_call_drv).
P = open_port({spawn, cf_call_drv}, []).
Main = self(), ok.
Work = fun(I) -> Bin = list_to_binary(lists:duplicate(50000, I)), lists:all(fun(N) -> T = {self(), N, Bin}, erlang:port_call(P, I, T) =:= T end, lists:seq(1, 25)) end, ok.
Pids = [spawn(fun() -> Main ! {done, I, Work(I)} end) || I <- lists:seq(1, 6)], ok.
lists:sort([receive {done, _, _} = M -> M after 20000 -> timeout end || _ <- Pids]).
erlang:port_call(P, 0, [a, "list", 1.5, {}]).
port_close(P).

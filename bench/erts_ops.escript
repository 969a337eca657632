#!/usr/bin/env escript
%% The ERTS side of bench/compare.sh: times port operations on echo_drv
%% (built against OTP's erl_driver.h) in compiled mode and prints one line
%% per operation: "NAME NS_PER_OP" (the median of 7 rounds).
%%
%% Usage: erts_ops.escript DRIVER_DIR
-mode(compile).

main([Dir]) ->
    ok = erl_ddll:load_driver(Dir, echo_drv),
    P = open_port({spawn_driver, "echo_drv"}, []),
    PB = open_port({spawn_driver, "echo_drv"}, [binary]),
    D28 = binary:copy(<<"x">>, 28),
    D64K = binary:copy(<<"x">>, 65536),
    T = {ok, D28},
    report("port_control_28b", 200000, fun(N) -> control(P, D28, N) end),
    report("port_call_small_term", 200000, fun(N) -> call(P, T, N) end),
    report("port_command_round_trip_28b", 200000, fun(N) -> round_trip(PB, D28, N) end),
    report("port_command_round_trip_64k", 20000, fun(N) -> round_trip(PB, D64K, N) end),
    report("port_command_pipelined_28b", 200000, fun(N) -> pipelined(PB, D28, N) end),
    report("open_port_and_close", 20000, fun(N) -> open_close(N) end),
    halt(0).

report(Name, N, F) ->
    F(N div 10),
    Times = lists:sort([begin
                            T0 = erlang:monotonic_time(nanosecond),
                            F(N),
                            (erlang:monotonic_time(nanosecond) - T0) / N
                        end || _ <- lists:seq(1, 7)]),
    io:format("~s ~.1f~n", [Name, lists:nth(4, Times)]).

control(_, _, 0) -> ok;
control(P, D, N) -> _ = port_control(P, 0, D), control(P, D, N - 1).

call(_, _, 0) -> ok;
call(P, T, N) -> _ = erlang:port_call(P, 0, T), call(P, T, N - 1).

round_trip(_, _, 0) -> ok;
round_trip(P, D, N) ->
    true = port_command(P, D),
    receive {P, {data, _}} -> ok end,
    round_trip(P, D, N - 1).

pipelined(P, D, N) -> send(P, D, N), recv(P, N).
send(_, _, 0) -> ok;
send(P, D, N) -> true = port_command(P, D), send(P, D, N - 1).
recv(_, 0) -> ok;
recv(P, N) -> receive {P, {data, _}} -> recv(P, N - 1) end.

open_close(0) -> ok;
open_close(N) ->
    P = open_port({spawn_driver, "echo_drv"}, []),
    true = port_close(P),
    open_close(N - 1).

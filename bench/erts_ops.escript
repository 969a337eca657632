#!/usr/bin/env escript
%% The ERTS side of bench/compare.sh: times port operations on echo_drv
%% (built against OTP's erl_driver.h) in compiled mode and prints one line
%% per operation: "NAME NS_PER_OP" (the median of 7 rounds).
%%
%% Usage: erts_ops.escript DRIVER_DIR
%% DRIVER_DIR holds echo_drv, queue_drv, timer_drv, async_drv and select_drv.
-mode(compile).

main([Dir]) ->
    [ok = erl_ddll:load_driver(Dir, D) || D <- [echo_drv, queue_drv, timer_drv, async_drv, select_drv]],
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
    Q = open_port({spawn_driver, "queue_drv"}, []),
    report("queue_enqueue_and_dequeue_28b", 200000, fun(N) -> queue(Q, D28, N) end),
    TP = open_port({spawn_driver, "timer_drv"}, []),
    report("timer_fire", 20000, fun(N) -> timer(TP, N) end),
    AP = open_port({spawn_driver, "async_drv"}, []),
    report("async_round_trip", 20000, fun(N) -> async(AP, N) end),
    SP = open_port({spawn_driver, "select_drv"}, []),
    TcpPort = list_to_integer(port_control(SP, $L, "")),
    {ok, Sock} = gen_tcp:connect({127,0,0,1}, TcpPort, [binary, {active, false}, {nodelay, true}]),
    report("select_wakeup_to_ready_input", 20000, fun(N) -> select(SP, Sock, N) end),
    Cat = open_port({spawn, "cat"}, [binary, {packet, 4}]),
    report("external_cat_round_trip_28b", 20000, fun(N) -> round_trip(Cat, D28, N) end),
    report("external_cat_round_trip_64k", 2000, fun(N) -> round_trip(Cat, D64K, N) end),
    report("external_output_per_mib", 64, fun(N) -> output(N) end),
    halt(0).

%% A child writing N MiB as fast as it can, read to its end (ns per MiB).
output(N) ->
    P = open_port({spawn, "head -c " ++ integer_to_list(N * 1048576) ++ " /dev/zero"}, [binary, eof]),
    Want = N * 1048576,
    Want = drain(P, 0).
drain(P, Got) ->
    receive {P, {data, D}} -> drain(P, Got + byte_size(D)); {P, eof} -> port_close(P), Got end.

queue(_, _, 0) -> ok;
queue(Q, D, N) -> true = port_command(Q, D), _ = port_control(Q, $D, "28"), queue(Q, D, N - 1).

timer(_, 0) -> ok;
timer(T, N) -> _ = port_control(T, $s, "0"), receive {T, {data, _}} -> ok end, timer(T, N - 1).

async(_, 0) -> ok;
async(A, N) -> _ = port_control(A, $a, "1"), receive {A, {data, _}} -> ok end, async(A, N - 1).

select(_, _, 0) -> ok;
select(S, Sock, N) ->
    ok = gen_tcp:send(Sock, <<"ping">>),
    receive {S, {data, _}} -> ok end,
    {ok, _} = gen_tcp:recv(Sock, 4),
    select(S, Sock, N - 1).

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

%% The BEAM side of bench/beam.sh: the same echo through a local ERTS port
%% (echo_drv), an ERTS port program (`cat` with {packet, 4}), the porthost
%% bridge and a porthost node, round trip (`command` and a reply message; `control`) and pipelined (100
%% in flight), 28 B and 64 KiB. Prints `target op size ns_per_op` lines.
-module(beam_bench).
-export([main/1]).

-define(REPS, 3).

main([EchoDir, Exe | NodeArg]) ->
    ok = erl_ddll:load_driver(EchoDir, "echo_drv"),
    {ok, B} = porthost:start_bridge([{executable, Exe}]),
    Targets = [{erts_driver, fun() -> erlang:open_port({spawn_driver, "echo_drv"}, [binary]) end, local},
               {erts_program, fun() -> erlang:open_port({spawn, "cat"}, [binary, {packet, 4}]) end, local},
               {bridge, fun() -> porthost:open_port(B, {spawn_driver, "echo_drv"}, [binary]) end, porthost}]
        ++ [{node, fun() -> porthost:open_port(list_to_atom(N), {spawn_driver, "echo_drv"}, [binary]) end, porthost}
            || N <- NodeArg],
    Ports = [setup(T) || T <- Targets],
    %% The machine may be shared: each case runs REPS times, the targets
    %% taking turns, and the best run counts.
    Cases = [{Op, Size, N} || {Size, RT, PL} <- [{28, 4000, 20000}, {65536, 400, 1000}],
                              {Op, N} <- [{round_trip, RT}, {pipelined, PL}, {control, RT}]],
    lists:foreach(
      fun({Op, Size, N}) ->
          Data = binary:copy(<<"x">>, Size),
          Runs = [[{Name, time(Op, P, Api, Data, N)} || {Name, P, Api} <- Ports,
                                                       Op =/= control orelse Name =/= erts_program]
                  || _ <- lists:seq(1, ?REPS)],
          [io:format("~s ~s ~w ~.1f~n", [Name, Op, Size, lists:min([T || Run <- Runs, {Nm, T} <- Run, Nm =:= Name])])
           || {Name, _} <- hd(Runs)]
      end, Cases),
    halt(0).

setup({Name, Open, Api}) ->
    P = Open(),
    {Cmd, Ctl} = funs(Api),
    round_trip(P, Cmd, <<"warm">>, 200),
    %% Binary control mode: control answers a binary, as a reply frame would.
    _ = Name =/= erts_program andalso is_binary(Ctl(P, 1, <<>>)),
    {Name, P, Api}.

funs(local) -> {fun erlang:port_command/2, fun erlang:port_control/3};
funs(porthost) -> {fun porthost:command/2, fun porthost:control/3}.

%% ns per operation.
time(Op, P, Api, Data, N) ->
    {Cmd, Ctl} = funs(Api),
    T0 = erlang:monotonic_time(nanosecond),
    case Op of
        round_trip -> round_trip(P, Cmd, Data, N);
        pipelined -> pipelined(P, Cmd, Data, N);
        control -> control(P, Ctl, Data, N)
    end,
    (erlang:monotonic_time(nanosecond) - T0) / N.

round_trip(_, _, _, 0) -> ok;
round_trip(P, Cmd, Data, N) ->
    Cmd(P, Data),
    receive {P, {data, _}} -> ok end,
    round_trip(P, Cmd, Data, N - 1).

control(_, _, _, 0) -> ok;
control(P, Ctl, Data, N) ->
    _ = Ctl(P, 0, Data),
    control(P, Ctl, Data, N - 1).

%% Up to 100 in flight.
pipelined(P, Cmd, Data, N) ->
    pipelined(P, Cmd, Data, N, 0).
pipelined(_, _, _, 0, 0) -> ok;
pipelined(P, Cmd, Data, N, InFlight) when N > 0, InFlight < 100 ->
    Cmd(P, Data),
    pipelined(P, Cmd, Data, N - 1, InFlight + 1);
pipelined(P, Cmd, Data, N, InFlight) ->
    receive {P, {data, _}} -> ok end,
    pipelined(P, Cmd, Data, N, InFlight - 1).

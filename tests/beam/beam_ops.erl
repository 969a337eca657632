%% The BEAM side of tests/beam.rs: the same port operations on echo_drv
%% through local ERTS ports (`local`) and through porthost:* (`bridge`,
%% `node`), each result printed on a line with ports, handles and pids
%% normalised, so that the Rust test compares the outputs line for line.
%% Other modes exercise what only porthost has (crashes, disconnects,
%% load). Run as `erl -noshell -pa EBIN -run beam_ops main MODE ARGS...`.
-module(beam_ops).
-export([main/1]).

main(Args) ->
    try run(Args) of
        _ -> halt(0)
    catch C:R:S ->
        io:format("FAILED ~p:~p ~p~n", [C, R, S]),
        halt(1)
    end.

%%% Modes

run(["local", EchoDir]) ->
    ok = erl_ddll:load_driver(EchoDir, "echo_drv"),
    ops(local_api());
run(["bridge", Exe]) ->
    {ok, B} = porthost:start_bridge([{executable, Exe}]),
    ops(porthost_api(B));
run(["node", Node]) ->
    ops(porthost_api(list_to_atom(Node)));
run(["crash", Exe, DriverDir]) ->
    {ok, B} = porthost:start_bridge([{executable, Exe}, {driver_path, DriverDir}]),
    crash(B);
run(["crash_node", Node]) ->
    crash(list_to_atom(Node));
run(["disconnect", Exe]) ->
    {ok, B} = porthost:start_bridge([{executable, Exe}]),
    OsPid = porthost:os_pid(B),
    disconnect(B, fun() -> porthost:stop(B) end),
    wait_gone(OsPid),
    out(porthost_exited);
run(["disconnect_node", Node]) ->
    disconnect(list_to_atom(Node), fun() -> ok end);
run(["hold", Exe, DriverDir]) ->
    %% Opens ports (one isolated) and waits to be killed.
    {ok, B} = porthost:start_bridge([{executable, Exe}, {driver_path, DriverDir}]),
    _ = porthost:open_port(B, {spawn_driver, "echo_drv"}, []),
    _ = porthost:open_port(B, {spawn_driver, "crash_drv"}, [isolated]),
    out({os_pid, porthost:os_pid(B)}),
    receive after infinity -> ok end;
run(["hold_node", Node]) ->
    open_two(Node),
    receive after infinity -> ok end;
run(["spread", Node1, Node2]) ->
    %% One port on each of two porthost nodes, used at once.
    [P1, P2] = [porthost:open_port(list_to_atom(N), {spawn_driver, "echo_drv"}, [binary]) || N <- [Node1, Node2]],
    out([porthost:control(P, 0, atom_to_list(Name)) || {P, Name} <- [{P1, one}, {P2, two}]]),
    true = porthost:command(P1, <<"to one">>),
    true = porthost:command(P2, <<"to two">>),
    out(lists:sort([receive {P, {data, D}} -> D after 5000 -> timeout end || P <- [P1, P2]])),
    out([porthost:close(P) || P <- [P1, P2]]),
    out(lists:sort([N || N <- nodes(hidden), N =:= list_to_atom(Node1) orelse N =:= list_to_atom(Node2)]) =:=
        lists:sort([list_to_atom(Node1), list_to_atom(Node2)]));
run(["hold_then_quit", Node]) ->
    open_two(Node);
run(["quiet_node", Node, Secs]) ->
    %% Opens ports, says nothing for Secs seconds, then uses them again:
    %% with a short net_ticktime on both sides, the ticks alone keep the
    %% connection (and the ports) alive.
    process_flag(trap_exit, true),
    Where = list_to_atom(Node),
    P = porthost:open_port(Where, {spawn_driver, "echo_drv"}, []),
    Q = porthost:open_port(Where, {spawn_driver, "crash_drv"}, [{isolated, port}]),
    out({open, porthost:control(P, 0, "x"), porthost:control(Q, $e, "y")}),
    timer:sleep(list_to_integer(Secs) * 1000),
    out({still, porthost:control(P, 0, "x"), porthost:control(Q, $e, "y"),
         lists:member(Where, nodes(hidden)),
         receive {'EXIT', _, _} = E -> norm(E) after 0 -> no_exit end});
run(["long_call_node", Node, Ms]) ->
    %% A call that keeps porthost's session busy longer than the
    %% net_ticktime: the connection stays.
    Where = list_to_atom(Node),
    P = porthost:open_port(Where, {spawn_driver, "crash_drv"}, []),
    R = porthost:control(P, $s, Ms),
    out({long_call, R, lists:member(Where, nodes(hidden)), porthost:control(P, $e, "ok")});
run(["call_node", Node, Ms]) ->
    %% A call that takes Ms milliseconds in the driver, in an isolated
    %% port and in-process; the node is killed during it.
    Where = list_to_atom(Node),
    P = porthost:open_port(Where, {spawn_driver, "crash_drv"}, []),
    Q = porthost:open_port(Where, {spawn_driver, "crash_drv"}, [{isolated, port}]),
    Self = self(),
    [spawn_link(fun() -> Self ! {calling, X}, porthost:control(X, $s, Ms) end) || X <- [P, Q]],
    [receive {calling, X} -> ok end || X <- [P, Q]],
    out(calling),
    receive after infinity -> ok end;
run(["backpressure", Exe, DriverDir]) ->
    %% porthost stalls (a 3 s call); a process pipelines 300 commands of
    %% 64 KiB meanwhile: it is held back (as a busy port holds back its
    %% callers), the bridge's mailbox stays small, and nothing is lost.
    {ok, B} = porthost:start_bridge([{executable, Exe}, {driver_path, DriverDir}]),
    Slow = porthost:open_port(B, {spawn_driver, "crash_drv"}, []),
    E = porthost:open_port(B, {spawn_driver, "echo_drv"}, [binary]),
    Self = self(),
    spawn_link(fun() -> porthost:control(Slow, $s, "3000") end),
    timer:sleep(100),
    Big = binary:copy(<<"x">>, 65536),
    spawn_link(fun() -> [porthost:command(E, Big) || _ <- lists:seq(1, 300)], Self ! sent end),
    timer:sleep(1500),
    {message_queue_len, Queued} = process_info(B, message_queue_len),
    out({held_back, receive sent -> false after 0 -> true end, Queued < 20}),
    receive sent -> ok after 30000 -> exit(never_sent) end,
    out({replies, count_replies(E, 0)});
run(["load", Exe, Procs, Ports, Rounds]) ->
    {ok, B} = porthost:start_bridge([{executable, Exe}]),
    load(B, list_to_integer(Procs), list_to_integer(Ports), list_to_integer(Rounds));
run(["load_node", Node, Procs, Ports, Rounds]) ->
    load(list_to_atom(Node), list_to_integer(Procs), list_to_integer(Ports), list_to_integer(Rounds)).

open_two(Node) ->
    P = porthost:open_port(list_to_atom(Node), {spawn_driver, "echo_drv"}, []),
    Q = porthost:open_port(list_to_atom(Node), {spawn_driver, "crash_drv"}, [{isolated, port}]),
    out({open, porthost:control(P, 0, "x"), porthost:control(Q, $e, "y")}).

count_replies(P, N) ->
    receive {P, {data, <<_:65536/binary>>}} -> count_replies(P, N + 1)
    after 5000 -> N
    end.

local_api() ->
    #{open => fun(N, O) -> erlang:open_port(N, O) end,
      command => fun erlang:port_command/2,
      control => fun erlang:port_control/3,
      call => fun erlang:port_call/3,
      close => fun erlang:port_close/1,
      connect => fun erlang:port_connect/2,
      info => fun erlang:port_info/1,
      info2 => fun erlang:port_info/2}.

porthost_api(Where) ->
    #{open => fun(N, O) -> porthost:open_port(Where, N, O) end,
      command => fun porthost:command/2,
      control => fun porthost:control/3,
      call => fun porthost:call/3,
      close => fun porthost:close/1,
      connect => fun porthost:connect/2,
      info => fun porthost:info/1,
      info2 => fun porthost:info/2}.

%%% The differential sequence

ops(#{open := Open, command := Cmd, control := Ctl, call := Call, close := Close,
      connect := Connect, info := Info, info2 := Info2}) ->
    process_flag(trap_exit, true),
    P = Open({spawn_driver, "echo_drv"}, [binary]),
    put(port, P),
    out(Cmd(P, "hello")),
    out(recv()),
    out(Cmd(P, [<<"a">>, "bc", [100, <<"e">>]])),
    out(recv()),
    out(Ctl(P, 0, "abc")),
    out(Ctl(P, 0, [])),
    out(catch_(fun() -> Ctl(P, 99, "x") end)),
    out(catch_(fun() -> Ctl(P, -1, "x") end)),
    out(catch_(fun() -> Ctl(P, 0, foo) end)),
    out(catch_(fun() -> Cmd(P, foo) end)),
    out(Call(P, 0, {a, [1, 2], <<"b">>, 3.5, -7, 1 bsl 70})),
    out(Ctl(P, 1, "xyz")),
    out(Ctl(P, 0, "bin")),
    out(Info2(P, name)),
    out(Info2(P, connected)),
    out(Info2(P, links)),
    out(Info2(P, input)),
    out(Info2(P, output)),
    out(catch_(fun() -> Info2(P, bogus) end)),
    out([I || {K, _} = I <- Info(P), K =/= id, K =/= os_pid]),
    %% port_connect: the new owner gets the data, the old one stays linked.
    Self = self(),
    Other = spawn(fun() -> other(Self) end),
    out(Connect(P, Other)),
    out(Info2(P, connected)),
    out(lists:sort(element(2, Info2(P, links)))),
    out(Cmd(P, "to other")),
    out(receive {other_got, M} -> M after 2000 -> timeout end),
    out(catch_(fun() -> Connect(P, not_a_pid) end)),
    Dead = spawn(fun() -> ok end),
    wait_dead(Dead),
    out(catch_(fun() -> Connect(P, Dead) end)),
    %% Back to us with the message interface.
    Other ! {connect_back, P},
    out(receive {other_got, M2} -> M2 after 2000 -> timeout end),
    out(Info2(P, connected)),
    out(Close(P)),
    out(recv()),
    out(catch_(fun() -> Close(P) end)),
    out(catch_(fun() -> Ctl(P, 0, "x") end)),
    out(catch_(fun() -> Cmd(P, "x") end)),
    out(Info(P)),
    out(Info2(P, name)),
    out(flush()),
    %% {Owner, close}: the closed answer and the exit (in either order).
    P2 = Open({spawn_driver, "echo_drv"}, []),
    put(port, P2),
    P2 ! {self(), {command, "via message"}},
    out(recv()),
    P2 ! {self(), close},
    out(lists:sort([recv(), recv()])),
    %% An owner that dies closes its port.
    P3 = spawn_owner(Open, fun() -> exit(boom) end),
    out(wait_closed(P3, Info)),
    %% exit(Port, Reason) from the owner, trapped.
    P4 = Open({spawn_driver, "echo_drv"}, []),
    put(port, P4),
    exit(P4, shutdown),
    out(recv()),
    out(Info(P4)),
    %% exit(Port, kill).
    P5 = Open({spawn_driver, "echo_drv"}, []),
    put(port, P5),
    exit(P5, kill),
    out(recv()),
    out(wait_closed(P5, Info)),
    %% A linked owner that does not trap exits dies with its port.
    {Victim, VRef} = spawn_monitor(fun() ->
        Q = Open({spawn_driver, "echo_drv"}, []),
        exit(Q, die_with_me),
        receive after 5000 -> survived end
    end),
    out(receive {'DOWN', VRef, process, Victim, Why} -> {down, Why} after 5000 -> timeout end),
    %% Open errors.
    out(catch_(fun() -> Open({spawn_driver, "no_such_drv"}, []) end)),
    out(catch_(fun() -> Open({spawn_driver, "echo_drv"}, [bogus_option]) end)),
    out(catch_(fun() -> Open({bogus_kind, "x"}, []) end)),
    %% 64 KiB round trip.
    P6 = Open({spawn_driver, "echo_drv"}, [binary]),
    put(port, P6),
    Big = binary:copy(<<"0123456789abcdef">>, 4096),
    Cmd(P6, Big),
    {data, Back} = recv_data(),
    out(Back =:= Big),
    out(byte_size(iolist_to_binary(Ctl(P6, 0, Big)))),
    out(Close(P6)),
    out(recv()),
    out(flush()).

other(Parent) ->
    receive
        {_, {data, D}} -> Parent ! {other_got, {data, D}}, other(Parent);
        {connect_back, P} ->
            P ! {self(), {connect, Parent}},
            receive {P, connected} = M -> Parent ! {other_got, M} after 2000 -> Parent ! {other_got, timeout} end
    end.

spawn_owner(Open, Then) ->
    Self = self(),
    Owner = spawn(fun() ->
        P = Open({spawn_driver, "echo_drv"}, []),
        Self ! {port, self(), P},
        receive go -> Then() end
    end),
    receive {port, Owner, P} -> P end,
    Owner ! go,
    P.

wait_closed(P, Info) -> wait_closed(P, Info, 100).
wait_closed(_, _, 0) -> still_open;
wait_closed(P, Info, N) ->
    case Info(P) of
        undefined -> closed;
        _ -> timer:sleep(20), wait_closed(P, Info, N - 1)
    end.

wait_dead(Pid) ->
    case is_process_alive(Pid) of
        true -> timer:sleep(5), wait_dead(Pid);
        false -> ok
    end.

recv() ->
    receive M -> norm(M) after 2000 -> timeout end.

recv_data() ->
    P = get(port),
    receive {P, D} -> D after 5000 -> timeout end.

flush() ->
    receive M -> [norm(M) | flush()] after 100 -> [] end.

catch_(F) ->
    try F() of V -> {ok, norm(V)}
    catch C:R -> {C, norm(R)}
    end.

out(T) ->
    io:format("~w~n", [norm(T)]).

%% Ports and handles as 'P', this process as self, other pids as pid.
norm(T) ->
    Port = get(port),
    Self = self(),
    norm(T, Port, Self).
norm(T, Port, _) when T =:= Port, Port =/= undefined -> 'P';
norm(T, _, Self) when T =:= Self -> self;
norm(T, _, _) when is_port(T) -> port;
norm(T, _, _) when is_pid(T) -> pid;
norm(T, P, S) when is_list(T) -> norm_list(T, P, S);
norm(T, P, S) when is_tuple(T) -> list_to_tuple(norm(tuple_to_list(T), P, S));
norm(T, _, _) -> T.

norm_list([], _, _) -> [];
norm_list([H | T], P, S) -> [norm(H, P, S) | norm_list(T, P, S)];
norm_list(T, P, S) -> norm(T, P, S).

%%% Crashes (isolated crash_drv)

crash(Where) ->
    process_flag(trap_exit, true),
    P = porthost:open_port(Where, {spawn_driver, "crash_drv"}, [isolated]),
    put(port, P),
    Bystander = porthost:open_port(Where, {spawn_driver, "echo_drv"}, []),
    out(porthost:control(P, $e, "healthy")),
    out(catch_(fun() -> porthost:control(P, $c, "segv") end)),
    out(recv()),
    out(recv()),
    out(porthost:info(P)),
    out(porthost:control(Bystander, 0, "still here")),
    %% A non-trapping owner dies of the crash.
    {Pid, Ref} = spawn_monitor(fun() ->
        Q = porthost:open_port(Where, {spawn_driver, "crash_drv"}, [isolated]),
        porthost:command(Q, "abort"),
        receive after 5000 -> survived end
    end),
    out(receive {'DOWN', Ref, process, Pid, Why} -> {down, Why} after 10000 -> timeout end).

%%% Disconnects

disconnect(Where, Cut) ->
    process_flag(trap_exit, true),
    Self = self(),
    Ps = [porthost:open_port(Where, {spawn_driver, "echo_drv"}, []) || _ <- [1, 2, 3]],
    %% A second owner that does not trap exits dies.
    {Pid, Ref} = spawn_monitor(fun() ->
        _ = porthost:open_port(Where, {spawn_driver, "echo_drv"}, []),
        Self ! opened,
        receive after 30000 -> survived end
    end),
    receive opened -> ok end,
    out(ready),
    Cut(),
    Exits = [receive {'EXIT', P, R} -> R after 30000 -> timeout end || P <- Ps],
    out(Exits),
    out(receive {'DOWN', Ref, process, Pid, Why} -> {down, Why} after 30000 -> timeout end),
    out([catch_(fun() -> porthost:control(P, 0, "x") end) || P <- Ps]).

wait_gone(OsPid) -> wait_gone(OsPid, 200).
wait_gone(_, 0) -> out(still_running);
wait_gone(OsPid, N) ->
    case file:read_file_info("/proc/" ++ integer_to_list(OsPid)) of
        {ok, _} -> timer:sleep(25), wait_gone(OsPid, N - 1);
        {error, _} -> ok
    end.

%%% Load: Procs processes, each driving Ports ports, Rounds messages each

load(Where, Procs, Ports, Rounds) ->
    Self = self(),
    T0 = erlang:monotonic_time(millisecond),
    Pids = [spawn_link(fun() -> Self ! {done, self(), load_worker(Where, Ports, Rounds)} end)
            || _ <- lists:seq(1, Procs)],
    Results = [receive {done, Pid, R} -> R after 120000 -> timeout end || Pid <- Pids],
    T1 = erlang:monotonic_time(millisecond),
    Bad = [R || R <- Results, R =/= ok],
    out({load, Procs * Ports * Rounds, length(Bad), lists:sublist(Bad, 3)}),
    io:format("load_ms ~w~n", [T1 - T0]).

load_worker(Where, Ports, Rounds) ->
    Ps = [porthost:open_port(Where, {spawn_driver, "echo_drv"}, [binary]) || _ <- lists:seq(1, Ports)],
    %% Pipelined: every port gets message I before any gets I + 1, in
    %% windows of 10 rounds, and every reply is checked in order.
    lists:foreach(
      fun(Base) ->
          Top = min(Base + 9, Rounds),
          [porthost:command(P, <<I:32>>) || I <- lists:seq(Base, Top), P <- Ps],
          [receive
               {P, {data, <<I:32>>}} -> ok;
               {P, {data, Other}} -> exit({reordered, I, Other})
           after 10000 -> exit({lost, I})
           end || I <- lists:seq(Base, Top), P <- Ps]
      end, lists:seq(1, Rounds, 10)),
    [porthost:close(P) || P <- Ps],
    receive {_, {data, _}} = Extra -> {extra, Extra} after 0 -> ok end.

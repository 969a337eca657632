%% @doc porthost from a BEAM node: port drivers outside the VM, with the
%% port semantics of ERTS.
%%
%% A port lives in a porthost reached either through a <em>bridge</em> (a
%% porthost started as a port program of this node, `porthost bridge',
%% see {@link start_bridge/1}) or through Erlang distribution (a
%% `porthost node --sname NAME' of the cluster: pass its node name as
%% `Where').
%%
%% == Handles ==
%% {@link open_port/3} returns a handle, `Port', which is the pid of a
%% proxy process on this node, one per port. The proxy is linked to the
%% port's owner as `open_port/2' links a port, so that the owner gets
%% `{'EXIT', Port, Reason}' when the port ends (or dies of it, if it does
%% not trap exits). The port's messages come as with a local port:
%% `{Port, {data, Data}}', `{Port, {exit_status, N}}', `{Port, eof}',
%% `{Port, closed}', `{Port, connected}'. `Port ! {Owner, close}',
%% `Port ! {Owner, {command, Data}}' and `Port ! {Owner, {connect, Pid}}'
%% work as with a local port. `is_port(Port)' is false: use this module's
%% functions, not the port BIFs, on a handle.
%%
%% Differences from a local port: the `{Port, closed}' answer to
%% `{Owner, close}' comes before `{'EXIT', Port, normal}' (ERTS sends the
%% exit first); a port closed by {@link close/1} sends its `{'EXIT', Port,
%% normal}' just after `close/1' returns, not before; pids, references
%% and funs inside `call/3' data reach the driver as porthost's own (the
%% driver sees other pids than the caller's); a porthost that dies or
%% disconnects ends every port with reason `noconnection'.
%%
%% == Bursts ==
%% A lone request is written by its caller, straight to the bridge's port
%% (or sent to the porthost node), as a batch of one. A burst (a request
%% within 10 microseconds of the same caller's previous one: pipelined
%% commands) goes through the bridge process (or this node's router for
%% the porthost node), which writes what its callers sent as one batch
%% once its mailbox is empty, or once the batch holds 32 frames: one
%% system call on each side for many requests, and yet several batches in
%% flight when a caller pipelines more, so that porthost answers one while
%% this node prepares the next (100 pipelined requests in one batch went
%% back and forth as one, each side idle while the other worked). Order
%% per caller is kept (a caller writes at once only when nothing waits in
%% the bridge process). Once 256 KiB of requests wait there, each caller
%% waits until the bridge process has written them (its `port_command'
%% waits while the port is busy), as a busy port holds back its callers.
%% The client keeps `$porthost_last_send' (and each handle's route) in the
%% caller's process dictionary.
-module(porthost).
-export([start_bridge/0, start_bridge/1, start_link/1, stop/1, os_pid/1]).
-export([open_port/3, command/2, control/3, call/3, close/1, close_input/1,
         connect/2, info/1, info/2]).
-export([init/4, system_continue/3, system_terminate/4, system_code_change/4,
         system_get_state/1]).

-type where() :: pid() | atom().
-type handle() :: pid().
-export_type([where/0, handle/0]).

%% A batch of frames to porthost is written when it holds this many
%% frames or bytes (see "Bursts": few enough that a pipelining caller
%% keeps several batches in flight, enough that a write costs little per
%% frame).
-define(BATCH_FRAMES, 32).
-define(BATCH_BYTES, 65536).
%% Over this many bytes sent to the bridge process and not yet written, a
%% caller waits until they are (as a busy port suspends its callers).
-define(MAX_PENDING, 262144).
%% A caller's request within this many microseconds of its previous one
%% is part of a burst (see send/2).
-define(BURST_US, 10).
%% A binary command of at most this many bytes is copied into its packet
%% (27 bytes before it), which so stays a heap binary (up to 64 bytes, in
%% the process's heap; a larger one is reference-counted, off the heap).
-define(INLINE_BYTES, 37).

-record(st, {
    send :: {port, port()} | {node, node()},
    parent :: pid(),
    %% N => {Proxy, Owner}
    ports = #{} :: #{integer() => {pid(), pid()}},
    %% Frames for ports whose open has not returned yet.
    early = #{} :: #{integer() => [tuple()]},
    opening = 0 :: non_neg_integer(),
    %% Bytes callers have sent this process and it has not written yet
    %% (an atomics array of one; see send/2).
    pending :: atomics:atomics_ref() | undefined
}).

%%% Starting a bridge

%% @equiv start_bridge([])
start_bridge() -> start_bridge([]).

%% @doc Starts a bridge: a porthost program run as a port of this node.
%% Options: `{executable, Path}' (default: `$PORTHOST', else `porthost' on
%% the `PATH'), `{driver_path, Dir}' (repeatable), `isolate',
%% `{isolate_driver, Name}', `{async_threads, N}', `{kill_timeout, Ms}',
%% `{args, [string()]}' (more porthost options), `{name, Atom}' (register
%% the bridge locally). When this node dies, the porthost's standard input
%% closes and it ends, with its drivers and workers.
-spec start_bridge(list()) -> {ok, pid()} | {error, term()}.
start_bridge(Opts) ->
    start(nolink, proplists:get_value(name, Opts), {bridge, Opts}).

%% @doc As {@link start_bridge/1}, linked to the caller (for supervision
%% trees: `#{id => porthost, start => {porthost, start_link, [Opts]}}').
-spec start_link(list()) -> {ok, pid()} | {error, term()}.
start_link(Opts) ->
    start(link, proplists:get_value(name, Opts), {bridge, Opts}).

%% The bridge process (or a node's router), registered as Name unless
%% undefined; as gen_server:start/4 and start_link/4 start a server.
start(nolink, Name, What) ->
    proc_lib:start(?MODULE, init, [self(), self, Name, What], infinity);
start(link, Name, What) ->
    proc_lib:start_link(?MODULE, init, [self(), self(), Name, What], infinity).

%% @doc Stops a bridge: its porthost closes every port and exits; the
%% ports' owners get `{'EXIT', Port, noconnection}'.
-spec stop(where()) -> ok.
stop(Bridge) -> proc_lib:stop(Bridge).

%% @doc The OS process id of a bridge's porthost.
-spec os_pid(where()) -> integer().
os_pid(Bridge) -> gen_server:call(Bridge, os_pid).

%%% The port operations

%% @doc `erlang:open_port/2' in a porthost. `Where' is a bridge (its pid
%% or registered name) or the node name of a `porthost node'. `PortName'
%% and `Opts' are as for `erlang:open_port/2' (`{spawn_driver, Cmd}',
%% `{spawn, Cmd}', `{spawn_executable, File}', ...), plus porthost's
%% options (`isolated', `{kill_timeout, Ms}', ...). The caller owns the
%% port and is linked to it. Raises what `open_port/2' raises (`badarg',
%% `enoent', ...), and `badarg' if `Where' is not reachable.
-spec open_port(where(), term(), list()) -> handle().
open_port(Where, PortName, Opts) when is_list(Opts) ->
    Server = server(Where),
    Res = try gen_server:call(Server, {open, PortName, Opts, self()}, infinity)
          catch exit:_ -> {error, error, badarg}
          end,
    case Res of
        {ok, Handle, Route} ->
            put({?MODULE, Handle}, Route),
            Handle;
        {error, _, _} = E ->
            result(E)
    end;
open_port(_, _, _) ->
    error(badarg).

%% @doc `port_command(Port, Data)': sends the iolist `Data' to the driver;
%% returns `true' at once. `badarg' if the port is closed or `Data' is not
%% an iolist.
-spec command(handle(), iodata()) -> true.
command(Port, Data) ->
    _ = is_binary(Data) orelse iolist_size(Data),
    {Send, N} = route(Port),
    case is_alive(Port) of
        true -> send(Send, command_packet(N, Data)), true;
        false -> error(badarg)
    end.

%% @doc `port_control(Port, Op, Data)': the driver's `control' answer (a
%% list, or a binary if the driver set `PORT_CONTROL_FLAG_BINARY').
-spec control(handle(), non_neg_integer(), iodata()) -> iodata().
control(Port, Op, Data) when is_integer(Op), Op >= 0, Op < 1 bsl 32 ->
    _ = iolist_size(Data),
    request(Port, fun(Tag, N) -> {control, Tag, N, Op, Data} end);
control(_, _, _) ->
    error(badarg).

%% @doc `erlang:port_call(Port, Op, Term)': the driver's `call' answer,
%% decoded.
-spec call(handle(), non_neg_integer(), term()) -> term().
call(Port, Op, Term) when is_integer(Op), Op >= 0, Op < 1 bsl 32 ->
    request(Port, fun(Tag, N) -> {call, Tag, N, Op, Term} end);
call(_, _, _) ->
    error(badarg).

%% @doc `port_close(Port)': closes the port; `true'. `badarg' if it is
%% already closed. Linked processes that trap exits get `{'EXIT', Port,
%% normal}'.
-spec close(handle()) -> true.
close(Port) ->
    request(Port, fun(Tag, N) -> {close, Tag, N} end).

%% @doc porthost's `close_input/1': an external program sees EOF on its
%% standard input while its output still arrives.
-spec close_input(handle()) -> true.
close_input(Port) ->
    request(Port, fun(Tag, N) -> {close_input, Tag, N} end).

%% @doc `port_connect(Port, Pid)': makes `Pid' (a live process of the
%% proxy's node) the owner and links it; the old owner stays linked.
-spec connect(handle(), pid()) -> true.
connect(Port, Pid) when is_pid(Pid) ->
    case proxy_call(Port, {connect, Pid}) of
        {ok, true} -> true;
        _ -> error(badarg)
    end;
connect(_, _) ->
    error(badarg).

%% @doc `erlang:port_info(Port)': the `{Item, Value}' list (`connected'
%% and `links' name this node's processes), or `undefined' for a closed
%% port.
-spec info(handle()) -> [{atom(), term()}] | undefined.
info(Port) when is_pid(Port) ->
    case proxy_call(Port, info) of
        {ok, {ok, Info}} -> Info;
        {ok, {error, _, _} = E} -> result(E);
        _ -> undefined
    end;
info(_) ->
    error(badarg).

%% @doc `erlang:port_info(Port, Item)': `{Item, Value}', or `undefined'
%% for a closed port; `badarg' for an unknown item.
-spec info(handle(), atom()) -> {atom(), term()} | undefined.
info(Port, Item) when is_pid(Port), is_atom(Item) ->
    case proxy_call(Port, {info, Item}) of
        {ok, {ok, Info}} -> Info;
        {ok, {error, _, _} = E} -> result(E);
        _ -> undefined
    end;
info(_, _) ->
    error(badarg).

%%% Callers

server(Pid) when is_pid(Pid) -> Pid;
server(Name) when is_atom(Name) ->
    case lists:member($@, atom_to_list(Name)) of
        true -> node_router(Name);
        false -> Name
    end;
server(_) -> error(badarg).

%% The local router of porthost node Node (started on first use).
node_router(Node) ->
    Name = list_to_atom("porthost_node_" ++ atom_to_list(Node)),
    case whereis(Name) of
        undefined ->
            case start(nolink, Name, {node, Node}) of
                {ok, Pid} -> Pid;
                {error, {already_started, Pid}} -> Pid;
                {error, _} -> error(badarg)
            end;
        Pid -> Pid
    end.

%% How to reach port Port: the transport and porthost's port number,
%% cached in the caller's dictionary.
route(Port) when is_pid(Port) ->
    case get({?MODULE, Port}) of
        undefined ->
            case proxy_call(Port, route) of
                {ok, Route} -> put({?MODULE, Port}, Route), Route;
                _ -> error(badarg)
            end;
        Route -> Route
    end;
route(_) ->
    error(badarg).

is_alive(Port) when node(Port) =:= node() ->
    case is_process_alive(Port) of
        true -> true;
        false -> erase({?MODULE, Port}), false
    end;
is_alive(_) -> true.

%% term_to_binary({command, N, Data}) with its 4-byte length (a packet,
%% see send/2): one binary for a small binary Data (one term to copy into
%% the bridge process, one element to write); a larger binary is not
%% copied (the port writes the iolist with writev).
command_packet(N, Data) when is_binary(Data), byte_size(Data) =< ?INLINE_BYTES, N < 1 bsl 31 ->
    Size = byte_size(Data),
    <<(Size + 23):32, 131, 104, 3, 100, 7:16, "command", 98, N:32, 109, Size:32, Data/binary>>;
command_packet(N, Data) when is_binary(Data), N < 1 bsl 31 ->
    Size = byte_size(Data),
    [<<(Size + 23):32, 131, 104, 3, 100, 7:16, "command", 98, N:32, 109, Size:32>>, Data];
command_packet(N, Data) ->
    packet(binary_last_frame({command, N, Data})).

%% A frame with its 4-byte length: how frames travel in a batch.
packet(Frame) ->
    [<<(iolist_size(Frame)):32>>, Frame].

%% term_to_binary(Tuple), as an iolist holding Tuple's last element
%% itself when it is a binary (no copy of the data).
binary_last_frame(Tuple) ->
    Last = element(tuple_size(Tuple), Tuple),
    case is_binary(Last) andalso tuple_size(Tuple) < 256 of
        true ->
            Init = lists:droplast(tuple_to_list(Tuple)),
            [<<131, 104, (tuple_size(Tuple))>>,
             [begin <<131, E/binary>> = term_to_binary(X), E end || X <- Init],
             <<109, (byte_size(Last)):32>>, Last];
        false ->
            term_to_binary(Tuple)
    end.

%% Sends a packet (a frame with its length, see packet/1) to porthost.
send({via, Bridge, Pending, Transport, Burst}, Packet) ->
    %% A request that follows this caller's previous one closely (a burst:
    %% pipelined commands) goes through the bridge process (or the node's
    %% router), to be written in a batch; another one is written at once,
    %% as a batch of one, if no frame waits in the bridge process (so that
    %% none of this caller's is overtaken). The clock is the performance
    %% counter (a third of the cost of monotonic_time/1 here), Burst
    %% is ?BURST_US in its unit; a counter that is not monotonic across CPUs
    %% only misjudges a burst, the order does not depend on it.
    Now = os:perf_counter(),
    Last = put('$porthost_last_send', Now),
    case is_integer(Last) andalso Now - Last < Burst orelse atomics:get(Pending, 1) =/= 0 of
        false ->
            try write(Transport, [0 | Packet])
            catch error:_ -> ok
            end;
        true ->
            send_through(Bridge, Pending, Packet)
    end.

%% Writes a frame, or a batch, to porthost.
write({port, P}, Data) ->
    erlang:port_command(P, Data);
write({node, Node}, Data) ->
    erlang:send({porthost, Node}, iolist_to_binary(Data)).

send_through(Bridge, Pending, Packet) ->
    Size = iolist_size(Packet),
    %% Counted before it is sent: the bridge subtracts it once written.
    case atomics:add_get(Pending, 1, Size) > ?MAX_PENDING of
        true ->
            %% Back-pressure: wait until the bridge has written (its
            %% port_command waits while the port is busy).
            Bridge ! {'$porthost_out', Packet, Size},
            MRef = erlang:monitor(process, Bridge),
            Bridge ! {'$porthost_sync', self(), MRef},
            receive
                {MRef, written} -> erlang:demonitor(MRef, [flush]);
                {'DOWN', MRef, _, _, _} -> ok
            end;
        false ->
            Bridge ! {'$porthost_out', Packet, Size},
            ok
    end.

%% A request that porthost answers: the reply comes to the caller straight
%% from the bridge, tagged with a monitor of the proxy (which ends with
%% the port, so a closed port answers badarg).
request(Port, Make) ->
    {Send, N} = route(Port),
    is_alive(Port) orelse error(badarg),
    MRef = erlang:monitor(process, Port),
    send(Send, packet(binary_last_frame(Make(term_to_binary({self(), MRef}), N)))),
    receive
        {MRef, Reply} ->
            erlang:demonitor(MRef, [flush]),
            result(Reply);
        {'DOWN', MRef, _, _, noconnection} ->
            erase({?MODULE, Port}),
            error(badarg);
        {'DOWN', MRef, _, _, _} ->
            %% The port ended, maybe by this very request (close/1): its
            %% porthost still answers.
            erase({?MODULE, Port}),
            receive
                {MRef, Reply} -> result(Reply)
            after 5000 -> error(badarg)
            end
    end.

result({ok, V}) -> V;
result({error, error, Reason}) -> error(Reason);
result({error, exit, Reason}) -> exit(Reason);
result({error, throw, Reason}) -> throw(Reason).

%% A request the proxy answers: {ok, Answer}, or down if it has ended.
proxy_call(Port, Req) when is_pid(Port) ->
    MRef = erlang:monitor(process, Port),
    Port ! {'$porthost', self(), MRef, Req},
    receive
        {MRef, Reply} -> erlang:demonitor(MRef, [flush]), {ok, Reply};
        {'DOWN', MRef, _, _, _} -> down
    end;
proxy_call(_, _) ->
    error(badarg).

%%% The bridge (or node router): owns the transport, routes frames
%%%
%%% A plain receive loop (a proc_lib special process, answering
%%% gen_server:call/3 and sys messages) rather than a gen_server: every
%%% frame porthost sends passes here on its way to its owner, and the
%%% common ones (`{msg, N, {data, Binary}}', replies) are matched rather
%%% than decoded.

%% @private
init(Starter, Parent0, Name, What) ->
    Parent = case Parent0 of self -> self(); P -> P end,
    case register_as(Name) of
        true ->
            process_flag(trap_exit, true),
            case init_transport(What) of
                {ok, Send} ->
                    proc_lib:init_ack(Starter, {ok, self()}),
                    loop(#st{send = Send, parent = Parent, pending = atomics:new(1, [])});
                {error, Reason} ->
                    proc_lib:init_ack(Starter, {error, Reason}),
                    exit(Reason)
            end;
        false ->
            proc_lib:init_ack(Starter, {error, {already_started, whereis(Name)}}),
            exit(normal)
    end.

register_as(undefined) -> true;
register_as(Name) -> try register(Name, self()) catch error:badarg -> false end.

init_transport({bridge, Opts}) ->
    Exe = case proplists:get_value(executable, Opts) of
              undefined -> default_executable();
              E -> E
          end,
    case Exe of
        false -> {error, no_porthost_executable};
        _ ->
            Args = host_args(Opts) ++ ["bridge"],
            try erlang:open_port({spawn_executable, Exe},
                                 [{packet, 4}, binary, {args, Args}, exit_status, use_stdio]) of
                P -> {ok, {port, P}}
            catch error:Why -> {error, {porthost, Why}}
            end
    end;
init_transport({node, Node}) ->
    monitor_node(Node, true),
    {porthost, Node} ! {hello, self()},
    {ok, {node, Node}}.

default_executable() ->
    case os:getenv("PORTHOST") of
        false -> os:find_executable("porthost");
        Path -> Path
    end.

host_args(Opts) ->
    lists:flatmap(
      fun({driver_path, D}) -> ["--driver-path", D];
         (isolate) -> ["--isolate"];
         ({isolate_driver, N}) -> ["--isolate-driver", N];
         ({async_threads, N}) -> ["--async-threads", integer_to_list(N)];
         ({kill_timeout, Ms}) -> ["--kill-timeout", integer_to_list(Ms)];
         ({args, A}) -> A;
         (_) -> []
      end, Opts).

%% The loop's state is St and the batch being gathered: the packets
%% callers sent (newest first), how many, and their bytes. The batch is
%% kept in arguments, not in St, so that a request costs no copy of St.
loop(St) ->
    loop(St, [], 0, 0).

loop(St, [], _, _) ->
    receive
        Msg -> dispatch(Msg, St, [], 0, 0)
    end;
loop(St, Out, N, Bytes) ->
    %% Packets to write: more may be waiting; written when none is.
    receive
        Msg -> dispatch(Msg, St, Out, N, Bytes)
    after 0 ->
        loop(flush(Out, Bytes, St))
    end.

dispatch({'$porthost_out', Packet, Size}, St, Out, N, Bytes) ->
    case N + 1 < ?BATCH_FRAMES andalso Bytes + Size < ?BATCH_BYTES of
        true -> loop(St, [Packet | Out], N + 1, Bytes + Size);
        false -> loop(flush([Packet | Out], Bytes + Size, St))
    end;
dispatch({P, {data, Frame}}, #st{send = {port, P}} = St, Out, N, Bytes) ->
    loop(frame(Frame, St), Out, N, Bytes);
dispatch(Frame, #st{send = {node, _}} = St, Out, N, Bytes) when is_binary(Frame) ->
    loop(frame(Frame, St), Out, N, Bytes);
dispatch(Msg, St, Out, _, Bytes) ->
    %% Anything else is rare: the batch goes first, and the frames this
    %% process writes of its own follow at once (out/2).
    other(Msg, flush(Out, Bytes, St)).

other({'$porthost_sync', From, Ref}, St) ->
    From ! {Ref, written},
    loop(St);
other({'$gen_call', From, Req}, St) ->
    loop(server_call(Req, From, St));
other({system, From, Req}, #st{parent = Parent} = St) ->
    sys:handle_system_msg(Req, From, Parent, ?MODULE, [], St);
other({'EXIT', Parent, Reason}, #st{parent = Parent}) ->
    %% Every proxy is linked to us: each ends with reason noconnection.
    exit(Reason);
other({P, {exit_status, S}}, #st{send = {port, P}}) ->
    exit({porthost_exited, S});
other({'EXIT', P, Why}, #st{send = {port, P}}) ->
    exit({porthost_exited, Why});
other({nodedown, Node}, #st{send = {node, Node}}) ->
    exit(normal);
other('$porthost_gone', _) ->
    exit(normal);
other({'$porthost_owner', N, Owner}, #st{ports = Ports} = St) ->
    case Ports of
        #{N := {Proxy, _}} -> loop(St#st{ports = Ports#{N := {Proxy, Owner}}});
        _ -> loop(St)
    end;
other({'EXIT', Pid, _}, #st{ports = Ports} = St) ->
    %% A proxy ended. Normally after its port's exit frame; if it was
    %% killed (exit(Port, kill)), its port goes too.
    case [N || {N, {P, _}} <- maps:to_list(Ports), P =:= Pid] of
        [N] ->
            loop(out(term_to_binary({exit, N, kill}), St#st{ports = maps:remove(N, Ports)}));
        [] ->
            loop(St)
    end;
other(_, St) ->
    loop(St).

server_call({open, Name, Opts, Owner}, From, #st{opening = O} = St) ->
    Tag = term_to_binary({'$open', From, Owner}),
    out(term_to_binary({open, Tag, Name, Opts}), St#st{opening = O + 1});
server_call(os_pid, From, #st{send = {port, P}} = St) ->
    {os_pid, OsPid} = erlang:port_info(P, os_pid),
    gen_server:reply(From, OsPid),
    St;
server_call(_, From, St) ->
    gen_server:reply(From, {error, error, badarg}),
    St.

%% A frame of this process's own, written at once (the batch has just
%% been written: see dispatch/5).
out(Frame, St) ->
    write_batch([packet(Frame)], St).

%% The packets callers sent (Out, newest first, Bytes in all, counted in
%% pending). They wait in the bridge process (or the node's router) until
%% its mailbox is empty (or a batch is full), and go out together: one
%% write, one packet or message (the byte 0, then each frame with its
%% 4-byte length: host/dist/session.rs). A burst of commands from many
%% callers, or from one that pipelines, so costs one system call on each
%% side.
flush([], _, St) ->
    St;
flush(Out, Bytes, #st{pending = Pending} = St) ->
    St1 = write_batch(lists:reverse(Out), St),
    atomics:sub(Pending, 1, Bytes),
    St1.

write_batch(Packets, #st{send = Transport} = St) ->
    try write(Transport, [0 | Packets])
    catch error:_ -> self() ! '$porthost_gone'
    end,
    St.

%% @private
system_continue(_Parent, _Debug, St) -> loop(St).

%% @private
system_terminate(Reason, _Parent, _Debug, _St) -> exit(Reason).

%% @private
system_code_change(St, _Module, _OldVsn, _Extra) -> {ok, St}.

%% @private
system_get_state(St) -> {ok, St}.

%% A frame from porthost, or a batch of them (the byte 0, then each frame
%% with its 4-byte length: host/dist/bridge.rs). The common frames are
%% matched (their external term format, as porthost writes them: see
%% host/dist/session.rs), the rest decoded.
frame(<<0, Frames/binary>>, St) ->
    frames(Frames, St);
frame(<<131, 104, 3, 100, 3:16, "msg", Rest/binary>> = Frame, St) ->
    case Rest of
        <<97, N, 104, 2, 100, 4:16, "data", 109, Len:32, Data:Len/binary>> ->
            msg(N, {data, Data}, St);
        <<98, N:32/signed, 104, 2, 100, 4:16, "data", 109, Len:32, Data:Len/binary>> ->
            msg(N, {data, Data}, St);
        _ ->
            decoded(binary_to_term(Frame), St)
    end;
frame(<<131, 104, 3, 100, 5:16, "reply", 109, TLen:32, Tag:TLen/binary, Result/binary>>, St) ->
    reply(binary_to_term(Tag), case Result of
                                   <<104, 2, 100, 2:16, "ok", 109, Len:32, Bin:Len/binary>> -> {ok, Bin};
                                   _ -> binary_to_term(<<131, Result/binary>>)
                               end, St);
frame(Frame, St) ->
    decoded(binary_to_term(Frame), St).

frames(<<Len:32, 131, 104, 3, 100, 3:16, "msg", 97, N, 104, 2, 100, 4:16, "data",
         109, DLen:32, Data:DLen/binary, Rest/binary>>, St) when Len =:= DLen + 25 ->
    %% {msg, N, {data, Data}} (N < 256), the most frequent frame, matched
    %% in the same pass as the batch.
    frames(Rest, msg(N, {data, Data}, St));
frames(<<Len:32, Frame:Len/binary, Rest/binary>>, St) ->
    frames(Rest, frame(Frame, St));
frames(_, St) ->
    St.

msg(N, Msg, #st{ports = Ports} = St) ->
    case Ports of
        #{N := {Proxy, Owner}} -> Owner ! {Proxy, Msg}, St;
        _ -> early(N, {msg, N, Msg}, St)
    end.

reply({'$open', From, Owner}, Result, St) -> opened(From, Owner, Result, St);
reply({Pid, Ref}, Result, St) -> Pid ! {Ref, Result}, St.

decoded({msg, N, Msg}, St) ->
    msg(N, Msg, St);
decoded({term, N, Term}, #st{ports = Ports} = St) ->
    case Ports of
        #{N := {_, Owner}} -> Owner ! Term, St;
        _ -> early(N, {term, N, Term}, St)
    end;
decoded({exit, N, Reason}, #st{ports = Ports} = St) ->
    case maps:take(N, Ports) of
        {{Proxy, _}, Rest} -> Proxy ! {'$porthost_exit', Reason}, St#st{ports = Rest};
        error -> early(N, {exit, N, Reason}, St)
    end;
decoded({reply, Tag, Result}, St) ->
    reply(binary_to_term(Tag), Result, St);
decoded(_, St) ->
    St.

early(N, Frame, #st{opening = O, early = E} = St) when O > 0 ->
    St#st{early = maps:update_with(N, fun(L) -> [Frame | L] end, [Frame], E)};
early(_, _, St) ->
    St.

opened(From, Owner, {ok, N}, #st{ports = Ports, opening = O} = St) ->
    Self = self(),
    %% Callers write their frames, or send them through this process in a
    %% burst (see send/2).
    Burst = erlang:convert_time_unit(?BURST_US, microsecond, perf_counter),
    Send = {via, Self, St#st.pending, St#st.send, Burst},
    Proxy = spawn_link(fun() -> proxy_init(Self, Send, N, Owner, From) end),
    St1 = St#st{ports = Ports#{N => {Proxy, Owner}}, opening = O - 1},
    {Early, E} = case maps:take(N, St1#st.early) of
                     {L, Rest} -> {lists:reverse(L), Rest};
                     error -> {[], St1#st.early}
                 end,
    St2 = St1#st{early = E},
    St3 = lists:foldl(fun decoded/2, St2, Early),
    case St3#st.opening of
        0 -> St3#st{early = #{}};
        _ -> St3
    end;
opened(From, _Owner, {error, Class, Reason}, #st{opening = O} = St) ->
    gen_server:reply(From, {error, Class, Reason}),
    St#st{opening = O - 1}.

%%% The proxy: one per port, linked to the owner, ends with the port

-record(px, {bridge, send, n, owner, exit = none}).

proxy_init(Bridge, Send, N, Owner, From) ->
    process_flag(trap_exit, true),
    link(Owner),
    put({?MODULE, self()}, {Send, N}),
    gen_server:reply(From, {ok, self(), {Send, N}}),
    proxy_loop(#px{bridge = Bridge, send = Send, n = N, owner = Owner}).

proxy_loop(#px{bridge = Bridge, owner = Owner, send = Send, n = N} = S) ->
    receive
        {'$porthost_exit', Reason} ->
            exit(case S#px.exit of
                     {requested, R} -> R;
                     none -> Reason
                 end);
        {'EXIT', Bridge, _} ->
            exit(noconnection);
        {'EXIT', Pid, Reason} when Pid =:= Owner; Reason =/= normal ->
            %% As a port gets the exit signal of a linked process: from
            %% the owner any reason closes it, from another any but normal.
            case S#px.exit of
                none ->
                    send_quiet(Send, term_to_binary({exit, N, simple(Reason)})),
                    proxy_loop(S#px{exit = {requested, Reason}});
                _ ->
                    proxy_loop(S)
            end;
        {'EXIT', _, normal} ->
            proxy_loop(S);
        {'$porthost', From, Ref, Req} ->
            proxy_loop(proxy_request(From, Ref, Req, S));
        {Owner, close} ->
            try close(self()) of
                true -> Owner ! {self(), closed}
            catch error:badarg -> ok
            end,
            proxy_loop(S);
        {Owner, {command, Data}} ->
            try command(self(), Data)
            catch error:badarg -> exit(Owner, badsig)
            end,
            proxy_loop(S);
        {Owner, {connect, Pid}} ->
            case connect_to(Pid, S) of
                {ok, S1} -> Owner ! {self(), connected}, proxy_loop(S1);
                error -> exit(Owner, badsig), proxy_loop(S)
            end;
        {P, _} when is_pid(P), S#px.exit =:= none ->
            exit(Owner, badsig),
            proxy_loop(S);
        _ ->
            proxy_loop(S)
    end.

proxy_request(From, Ref, route, #px{send = Send, n = N} = S) ->
    From ! {Ref, {Send, N}},
    S;
proxy_request(From, Ref, {connect, Pid}, S) ->
    case connect_to(Pid, S) of
        {ok, S1} -> From ! {Ref, true}, S1;
        error -> From ! {Ref, badarg}, S
    end;
proxy_request(From, Ref, Info, #px{n = N} = S) when Info =:= info; element(1, Info) =:= info ->
    Make = case Info of
               info -> fun(Tag, _) -> {info, Tag, N} end;
               {info, Item} -> fun(Tag, _) -> {info, Tag, N, Item} end
           end,
    Reply = try {ok, rewrite_info(request(self(), Make), S)}
            catch Class:Reason -> {error, Class, Reason}
            end,
    From ! {Ref, Reply},
    S;
proxy_request(From, Ref, _, S) ->
    From ! {Ref, badarg},
    S.

connect_to(Pid, #px{bridge = Bridge, n = N} = S) when is_pid(Pid), node(Pid) =:= node() ->
    case is_process_alive(Pid) of
        true ->
            link(Pid),
            Bridge ! {'$porthost_owner', N, Pid},
            {ok, S#px{owner = Pid}};
        false ->
            error
    end;
connect_to(_, _) ->
    error.

rewrite_info(undefined, _) -> undefined;
rewrite_info(L, S) when is_list(L) -> [rewrite_item(I, S) || I <- L];
rewrite_info(I, S) -> rewrite_item(I, S).

rewrite_item({connected, _}, #px{owner = Owner}) -> {connected, Owner};
rewrite_item({links, _}, #px{bridge = Bridge}) ->
    {links, Links} = process_info(self(), links),
    {links, [P || P <- Links, P =/= Bridge]};
rewrite_item(I, _) -> I.

%% An exit reason porthost can decode: atoms as they are, anything else
%% (it may hold pids of this node) as an atom; the proxy exits with the
%% real reason.
simple(R) when is_atom(R) -> R;
simple(_) -> '$beam_reason'.

send_quiet(Send, Frame) ->
    try send(Send, packet(Frame)) catch error:badarg -> ok end.

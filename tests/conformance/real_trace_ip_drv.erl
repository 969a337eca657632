% Real driver: OTP's trace_ip_drv (runtime_tools, Debian's erlang-runtime-tools), loaded unmodified and driven as dbg:trace_port(ip, ...) drives it
% dbg's IP trace port: "trace_ip_drv PortNo QueSize Flags" listens on a
% TCP port (0: any), selected with driver_select; control $p answers, in
% binary control mode, an ErlDrvBinary <<0, Port:16>> while returning 0
% (the reply's length comes from the binary); with flag 2 (fill always)
% commands sent before a client connects are queued, the oldest kept, the
% rest counted in a <<1, Dropped:32>> frame; a client that connects gets
% the queue (ready_input accepts, ready_output writes), then live
% messages. A second port on the same TCP port is refused.
Priv = "@PRIV:runtime_tools@", ok.
ok = erl_ddll:load_driver(Priv, trace_ip_drv).
P = open_port({spawn, "trace_ip_drv 0 3 2"}, [eof]).
<<0, TcpPort:16>> = port_control(P, $p, ""), TcpPort > 0.
case catch port_control(P, $x, "") of {'EXIT', {E1, _}} -> E1; V1 -> V1 end.
case catch open_port({spawn, "trace_ip_drv " ++ integer_to_list(TcpPort) ++ " 3 2"}, [eof]) of {'EXIT', {E2, _}} -> E2; V2 -> V2 end.
case catch open_port({spawn, "trace_ip_drv x"}, [eof]) of {'EXIT', {E3, _}} -> E3; V3 -> V3 end.
Msgs = [term_to_binary({trace, I, lists:duplicate(I, I)}) || I <- lists:seq(1, 6)], ok.
[port_command(P, M) || M <- Msgs].
Live = term_to_binary({live, <<"after connect">>}), ok.
Queued = 5 * 3 + lists:sum([byte_size(M) || M <- lists:sublist(Msgs, 3)]) + 5, LiveSize = 5 + byte_size(Live), ok.
Client = open_port({spawn_executable, "/bin/bash"}, [{args, ["-c", "exec 3<>/dev/tcp/127.0.0.1/" ++ integer_to_list(TcpPort) ++ "; head -c " ++ integer_to_list(Queued) ++ " <&3; head -c " ++ integer_to_list(LiveSize) ++ " <&3"]}, binary, eof]).
Read = fun R(Acc, Until) -> case byte_size(Acc) >= Until of true -> Acc; false -> receive {Client, {data, D}} -> R(<<Acc/binary, D/binary>>, Until); {Client, eof} -> Acc after 5000 -> {timeout, Acc} end end end, ok.
Got1 = Read(<<>>, Queued), byte_size(Got1).
port_command(P, Live).
Got = Read(Got1, Queued + LiveSize), byte_size(Got) =:= Queued + LiveSize.
Frames = fun F(<<0, Size:32, T:Size/binary, Rest/binary>>) -> [binary_to_term(T) | F(Rest)]; F(<<1, N:32, Rest/binary>>) -> [{dropped, N} | F(Rest)]; F(<<>>) -> []; F(Other) -> [{garbage, Other}] end, Frames(Got).
receive {Client, eof} -> eof after 5000 -> timeout end, port_close(Client).
port_close(P).
flush().
erl_ddll:unload_driver(trace_ip_drv).

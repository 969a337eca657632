% Real driver: OTP's trace_ip_drv (runtime_tools, Debian's erlang-runtime-tools), loaded unmodified and driven as dbg:trace_port(ip, ...) drives it
% dbg's IP trace port: "trace_ip_drv PortNo QueSize Flags" listens on a
% TCP port (0: any) that it selects with ERL_DRV_USE; control $p answers,
% in binary control mode, an ErlDrvBinary <<0, Port:16>> while returning 0
% (the reply's length comes from the binary); other controls fail; a
% malformed command string or a second port on the same TCP port is
% refused (ERL_DRV_ERROR_GENERAL: einval); commands sent
% while no client is connected are dropped (flags 0); closing the port
% gives the listen socket back through stop_select.
% Not covered: a connected client. OTP 25's driver clears only QueSize + 1
% bytes of its queue of pointers (memset(que, 0, quesiz)), so once a
% client connects it reads uninitialised slots: under ERTS that crashed
% the VM in one run of three here.
Priv = "@PRIV:runtime_tools@", ok.
ok = erl_ddll:load_driver(Priv, trace_ip_drv).
P = open_port({spawn, "trace_ip_drv 0 3 0"}, [eof]).
<<0, TcpPort:16>> = port_control(P, $p, ""), TcpPort > 0.
case catch port_control(P, $x, "") of {'EXIT', {E1, _}} -> E1; V1 -> V1 end.
case catch open_port({spawn, "trace_ip_drv " ++ integer_to_list(TcpPort) ++ " 3 0"}, [eof]) of {'EXIT', {E2, _}} -> E2; V2 -> V2 end.
case catch open_port({spawn, "trace_ip_drv x"}, [eof]) of {'EXIT', {E3, _}} -> E3; V3 -> V3 end.
case catch open_port({spawn, "trace_ip_drv 0 3 9"}, [eof]) of {'EXIT', {E4, _}} -> E4; V4 -> V4 end.
[port_command(P, term_to_binary({trace, I})) || I <- lists:seq(1, 5)].
erlang:port_info(P, name).
port_close(P).
Q = open_port({spawn, "trace_ip_drv " ++ integer_to_list(TcpPort) ++ " 3 0"}, [eof]), <<0, TcpPort2:16>> = port_control(Q, $p, ""), TcpPort2 =:= TcpPort.
port_close(Q).
flush().
erl_ddll:unload_driver(trace_ip_drv).

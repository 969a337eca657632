% Real driver: OTP's trace_file_drv (runtime_tools, Debian's erlang-runtime-tools), loaded unmodified and driven as dbg:trace_port(file, ...) drives it
% dbg's file trace port: "trace_file_drv n File" opens File; each command
% is written as <<0, Size:32, Term/binary>> behind a 64 KiB buffer (a large
% command goes straight to the file and sets PORT_CONTROL_FLAG_HEAVY);
% control $f flushes and answers [0]; other controls fail (badarg); a wrap
% log ("w Size Count Time Tail n File") rotates files Name0, Name1, ...;
% a malformed command string is badarg, an unwritable file an errno.
Dir = "@TMP@", Priv = "@PRIV:runtime_tools@", ok.
ok = erl_ddll:load_driver(Priv, trace_file_drv).
ReadFile = fun(F) -> C = open_port({spawn_executable, "/bin/cat"}, [{args, [F]}, binary, eof]), (fun R(Acc) -> receive {C, {data, D}} -> R(<<Acc/binary, D/binary>>); {C, eof} -> port_close(C), Acc after 5000 -> timeout end end)(<<>>) end, ok.
Frames = fun F(<<0, Size:32, T:Size/binary, Rest/binary>>) -> [binary_to_term(T) | F(Rest)]; F(<<>>) -> []; F(Other) -> [{garbage, byte_size(Other)}] end, ok.
File = Dir ++ "/trace.log", ok.
P = open_port({spawn, "trace_file_drv n " ++ File}, [eof]).
port_command(P, term_to_binary({trace, self(), call, {lists, seq, [1, 3]}})).
port_command(P, term_to_binary({trace_ts, self(), return_from, {lists, seq, 2}, [1, 2, 3], {1, 2, 3}})).
byte_size(ReadFile(File)).
port_control(P, $f, "").
Frames(ReadFile(File)).
Big = list_to_binary(lists:duplicate(70000, $b)), port_command(P, term_to_binary({big, Big})).
port_command(P, term_to_binary(after_big)).
port_control(P, $f, "").
[case X of {big, B} -> {big, B =:= Big}; _ -> X end || X <- Frames(ReadFile(File))].
case catch port_control(P, $x, "") of {'EXIT', {E1, _}} -> E1; V1 -> V1 end.
port_command(P, term_to_binary(last)), port_close(P).
lists:last(Frames(ReadFile(File))).
case catch open_port({spawn, "trace_file_drv x " ++ File}, [eof]) of {'EXIT', {E2, _}} -> E2; V2 -> V2 end.
case catch open_port({spawn, "trace_file_drv n /no/such/dir/f"}, [eof]) of {'EXIT', {E3, _}} -> E3; V3 -> V3 end.
Wrap = Dir ++ "/wrap.log", W = open_port({spawn, "trace_file_drv w 100 3 0 " ++ integer_to_list(length(Dir) + 5) ++ " n " ++ Wrap}, [eof]).
[port_command(W, term_to_binary({msg, I, lists:duplicate(60, I)})) || I <- lists:seq(1, 7)], port_close(W).
L = open_port({spawn, "ls " ++ Dir}, [{line, 100}, eof]), (fun R(Acc) -> receive {L, {data, {eol, N}}} -> R([N | Acc]); {L, eof} -> port_close(L), lists:reverse(Acc) after 5000 -> timeout end end)([]).
[{F, [element(2, T) || T <- Frames(ReadFile(Dir ++ "/" ++ F))]} || F <- ["wrap0.log", "wrap1.log", "wrap2.log", "wrap3.log"]].
erl_ddll:unload_driver(trace_file_drv).

% open_port/2 option checking for external programs: what ERTS 25 accepts,
% and the exception it raises otherwise (badarg; einval for a bad fd).
% Each opened port is closed at once (cat sees EOF and exits). Not here:
% open_port(Atom, _), ERTS's undocumented "vanilla" port, which opens (and
% creates) the file Atom; nor porthost's own options (kill_timeout,
% stderr_messages, max_pending, limits), which ERTS refuses: tests/external.rs.
T = fun(N, O) -> case catch open_port(N, O) of {'EXIT', {R, _}} -> R; P -> catch port_close(P), opened end end, ok.
T({spawn, "cat"}, [{packet, 3}]).
T({spawn, "cat"}, [{packet, 0}]).
T({spawn, "cat"}, [{packet, 1.0}]).
T({spawn, "cat"}, [{line, 0}]).
T({spawn, "cat"}, [{line, -1}]).
T({spawn, "cat"}, [{line, 5.0}]).
T({spawn, "cat"}, [{line, 1 bsl 40}]).
T({spawn, "cat"}, [{line, 1 bsl 59}]).
T({spawn, "cat"}, [{packet, 2}, {line, 5}]).
T({spawn, "cat"}, [{line, 5}, {packet, 2}]).
T({spawn, "cat"}, [{packet, 2}, {line, 5}, stream]).
T({spawn, "cat"}, [{packet, 2}, {packet, 4}]).
T({spawn, "cat"}, [{line, 5}, {line, 6}]).
T({spawn, "cat"}, [stream, binary, eof, in, out, use_stdio, stderr_to_stdout, exit_status, hide, overlapped_io]).
T({spawn, "cat"}, [nouse_stdio]).
T({spawn, "cat"}, [{exit_status, true}]).
T({spawn, "cat"}, [{hide, true}]).
T({spawn, "cat"}, [foo]).
T({spawn, "cat"}, [{foo, 1}]).
T({spawn, "cat"}, [{args, ["a"]}]).
T({spawn, "cat"}, [{args, []}]).
T({spawn, "cat"}, [{arg0, "a"}]).
T({spawn, "cat"}, [{env, [{"PH_A", "1"}]}]).
T({spawn, "cat"}, [{env, [{"PH_A", false}]}]).
T({spawn, "cat"}, [{env, [{"PH_A", ""}]}]).
T({spawn, "cat"}, [{env, [{"", "1"}]}]).
T({spawn, "cat"}, [{env, [{"PH_A=B", "1"}]}]).
T({spawn, "cat"}, [{env, [{ph_a, "1"}]}]).
T({spawn, "cat"}, [{env, [{<<"PH_A">>, "1"}]}]).
T({spawn, "cat"}, [{env, [{"PH_A", <<"1">>}]}]).
T({spawn, "cat"}, [{env, [{"PH_A", 1}]}]).
T({spawn, "cat"}, [{env, [{"PH_A", "1", "2"}]}]).
T({spawn, "cat"}, [{env, [{"PH_A", "1"} | x]}]).
T({spawn, "cat"}, [{env, [{"PH_A\0", "1"}]}]).
T({spawn, "cat"}, [{env, [{"PH_A", "1\0"}]}]).
T({spawn, "cat"}, [{env, [{["PH", "_A"], ["1", "2"]}]}]).
T({spawn, "cat"}, [{env, bad}]).
T({spawn, "cat"}, [{cd, "/"}]).
T({spawn, "cat"}, [{cd, <<"/">>}]).
T({spawn, "cat"}, [{cd, '/'}]).
T({spawn, "cat"}, [{cd, ["/", "tmp"]}]).
T({spawn, "cat"}, [{cd, 1}]).
T({spawn, "cat"}, [{parallelism, true}]).
T({spawn, "cat"}, [{parallelism, false}]).
T({spawn, "cat"}, [{parallelism, foo}]).
T({spawn, "cat"}, [{busy_limits_port, {1000, 2000}}]).
T({spawn, "cat"}, [{busy_limits_port, {2000, 1000}}]).
T({spawn, "cat"}, [{busy_limits_port, disabled}]).
T({spawn, "cat"}, [{busy_limits_port, {0, 1}}]).
T({spawn, "cat"}, [{busy_limits_port, foo}]).
T({spawn, "cat"}, [{busy_limits_msgq, {1000, 2000}}]).
T({spawn, "cat"}, [{busy_limits_msgq, disabled}]).
T({spawn, "cat"}, [{busy_limits_msgq, {0, 1}}]).
T({spawn, "cat"}, bad).
T({spawn, "cat"}, [bad | tail]).
T({spawn, ""}, []).
T({spawn, "ca\0t"}, []).
T({spawn, cat}, []).
T({spawn, <<"cat">>}, []).
T({spawn, ["c", "at"]}, []).
T({spawn, 1}, []).
T({spawn_executable, ""}, []).
T({spawn_executable, "/bin/cat"}, []).
T({spawn_executable, <<"/bin/cat">>}, []).
T({spawn_executable, '/bin/cat'}, []).
T({spawn_executable, "/bin/cat"}, [{args, []}]).
T({spawn_executable, "/bin/cat"}, [{args, ["-u", <<"-u">>, '-u', ["-", "u"]]}]).
T({spawn_executable, "/bin/cat"}, [{args, "-u"}]).
T({spawn_executable, "/bin/cat"}, [{args, [1]}]).
T({spawn_executable, "/bin/cat"}, [{args, [[a]]}]).
T({spawn_executable, "/bin/cat"}, [{args, ["-u" | x]}]).
T({spawn_executable, "/bin/cat"}, [{args, ["a\0b"]}]).
T({spawn_executable, "/bin/cat"}, [{arg0, "x"}]).
T({spawn_executable, "/bin/cat"}, [{arg0, <<"x">>}]).
T({spawn_executable, "/bin/cat"}, [{arg0, x}]).
T({spawn_executable, "/bin/cat"}, [{arg0, 1}]).
T({fd, 0, 2}, [out]).
T({fd, 0, 2}, [out, {cd, "/"}, {env, []}, nouse_stdio]).
T({fd, 0, 2}, [out, stderr_to_stdout]).
T({spawn, "cat"}, [nouse_stdio, stderr_to_stdout]).
T({fd, -1, 2}, [in]).
T({fd, 0, -1}, [in]).
T({fd, 0, 2}, [out, exit_status]).
T({fd, 0, 2}, [out, {args, ["x"]}]).
T({fd, 0, 2}, [out, {arg0, "x"}]).
T({fd, -1, 2}, [out]).
T({fd, 0, 1 bsl 40}, [out]).
T({fd, a, 2}, [out]).
T({fd, 0}, [out]).
T({vanilla, "x"}, []).
T({spawn_driver, "cat"}, []).

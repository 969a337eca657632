% {env, _} sets and unsets variables (false and "" both unset, as ERTS
% does), {cd, Dir} sets the working directory, {args, _} and {arg0, _}
% make spawn_executable's argv (arguments as strings, binaries, atoms);
% of two entries for one name the later wins; values are UTF-8.
process_flag(trap_exit, true).
os:putenv("PORTHOST_T_KEEP", "kept"), os:putenv("PORTHOST_T_GONE", "x"), os:putenv("PORTHOST_T_EMPTY", "x"), ok.
P1 = open_port({spawn, "echo \"$PORTHOST_T_NEW|${PORTHOST_T_GONE-unset}|${PORTHOST_T_EMPTY-unset}|$PORTHOST_T_KEEP\""}, [{env, [{"PORTHOST_T_NEW", "new"}, {"PORTHOST_T_GONE", false}, {"PORTHOST_T_EMPTY", ""}]}, {line, 100}]).
receive {P1, {data, D1}} -> D1 after 1000 -> timeout end.
P2 = open_port({spawn, "pwd"}, [{cd, "/tmp"}, {line, 100}]).
receive {P2, {data, D2}} -> D2 after 1000 -> timeout end.
P3 = open_port({spawn, "pwd"}, [{cd, <<"/">>}, {line, 100}]).
receive {P3, {data, D3}} -> D3 after 1000 -> timeout end.
P4 = open_port({spawn_executable, "/bin/sh"}, [{args, ["-c", <<"echo \"$0|$1|$2\"">>, zero, ["o", "ne"]]}, {line, 100}]).
receive {P4, {data, D4}} -> D4 after 1000 -> timeout end.
P5 = open_port({spawn_executable, "/bin/sh"}, [{arg0, "myname"}, {args, ["-c", "tr '\\000' ' ' </proc/$$/cmdline"]}, {line, 100}]).
receive {P5, {data, D5}} -> D5 after 1000 -> timeout end.
P6 = open_port({spawn_executable, "/bin/sh"}, [{args, ["-c", "tr '\\000' ' ' </proc/$$/cmdline"]}, {line, 100}]).
receive {P6, {data, D6}} -> D6 after 1000 -> timeout end.
P7 = open_port({spawn, "echo \"$PORTHOST_T_U\""}, [{env, [{"PORTHOST_T_U", [233, 8364]}]}, {line, 100}]).
receive {P7, {data, D7}} -> D7 after 1000 -> timeout end.
P9 = open_port({spawn, "echo \"$PORTHOST_T_DUP\""}, [{env, [{"PORTHOST_T_DUP", "1"}, {"PORTHOST_T_DUP", "2"}]}, {line, 100}]).
receive {P9, {data, D9}} -> D9 after 1000 -> timeout end.

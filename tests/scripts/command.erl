% port_command and how ERTS hands iodata to a driver with outputv: probe_drv
% reports the ErlIOVec as "outputv vsize=V size=S iov=LEN:b<orig_size>+<offset>
% or LEN:-". iov[0] is always empty; runs of bytes and small (heap) binaries
% share one copy binary; off-heap binaries (> 64 bytes, and every non-empty
% binary built with <<...>> in the script) get their own entry; sub-binaries
% point into their original. Also port_command/3 options, Port ! {Pid,
% {command, Data}}, and a driver with only output (probe_flat_drv).
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, probe_drv).
erl_ddll:load_driver(D, probe_flat_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
B64 = list_to_binary(lists:seq(1, 64)), ok.
B65 = list_to_binary(lists:seq(1, 65)), ok.
B100 = list_to_binary(lists:seq(1, 100)), ok.
B200 = list_to_binary(lists:seq(0, 199)), ok.
port_command(P, []).
flush().
port_command(P, "abc").
flush().
port_command(P, <<"abc">>).
flush().
port_command(P, B64).
flush().
port_command(P, B65).
flush().
port_command(P, [1, 2, B100, 3, 4]).
flush().
port_command(P, [B100, B100]).
flush().
port_command(P, [<<"ab">>, <<"cd">>, "ef", <<"gh">>]).
flush().
port_command(P, [1, <<>>, 4]).
flush().
port_command(P, [1, list_to_binary([2, 3]), 4]).
flush().
port_command(P, [1, term_to_binary(a), 4]).
flush().
port_command(P, [1, <<2, 3>>, 4]).
flush().
<<_:10/binary, Small:50/binary, _/binary>> = B100, ok.
port_command(P, [Small]).
flush().
<<_:10/binary, Sub:80/binary, _/binary>> = B200, ok.
port_command(P, [Sub]).
flush().
port_command(P, [Sub, 9 | Sub]).
flush().
port_command(P, [1, 2 | <<3, 4>>]).
flush().
port_command(P, [1, 2 | B100]).
flush().
port_command(P, [[[B100]], [[1], 2], [<<>>], B65, <<>>, B64]).
flush().
port_command(P, list_to_binary(lists:duplicate(2000, $a))).
flush().
port_command(P, lists:duplicate(2000, $a)).
flush().
port_command(P, "opts", []).
flush().
port_command(P, "nosuspend", [nosuspend]).
flush().
P ! {self(), {command, [1, B100]}}.
receive Bang -> Bang after 1000 -> timeout end.
erlang:port_info(P, output).
erlang:port_info(P, input).
PB = open_port({spawn_driver, "probe_drv"}, [binary]).
port_command(PB, [1, B100]).
flush().
F = open_port({spawn_driver, "probe_flat_drv"}, []).
port_command(F, [1, B100, <<"xy">>, [[$z]]]).
flush().
port_command(F, []).
flush().
FB = open_port({spawn_driver, "probe_flat_drv"}, [binary]).
port_command(FB, [$a, <<"bc">> | <<"d">>]).
flush().

% driver_outputv with pieces larger than a heap binary: the binary piece
% (its ErlDrvBinary freed by the driver right after) and the plain piece
% arrive intact, in binary mode as [Header | binaries], in list mode as
% one list.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, probe_drv).
P = open_port({spawn_driver, "probe_drv"}, [binary]).
Body = [I rem 251 || I <- lists:seq(1, 300)], ok.
port_control(P, $V, [2, 7, 8 | Body]).
receive {P, {data, [7, 8, B1 | B2]}} -> {byte_size(B1), byte_size(B2), binary_to_list(<<B1/binary, B2/binary>>) =:= Body} after 2000 -> timeout end.
L = open_port({spawn_driver, "probe_drv"}, []).
port_control(L, $V, [1, 9 | Body]).
receive {L, {data, [9 | Rest]}} -> Rest =:= Body after 2000 -> timeout end.
port_control(P, $V, [0 | lists:sublist(Body, 100)]).
receive {P, {data, [C1 | C2]}} -> {byte_size(C1), byte_size(C2)} after 2000 -> timeout end.

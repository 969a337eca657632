% outputv packing: when an iolist makes 16 or more vector entries (not
% counting iov[0]), ERTS also copies off-heap binaries smaller than 256 bytes
% into the shared copy binary; binaries of 256 bytes or more stay separate.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
B100 = list_to_binary(lists:seq(1, 100)), ok.
B255 = list_to_binary(lists:duplicate(255, 1)), ok.
B256 = list_to_binary(lists:duplicate(256, 2)), ok.
port_command(P, lists:duplicate(14, B100)).
flush().
port_command(P, lists:duplicate(15, B100)).
flush().
port_command(P, lists:duplicate(16, B100)).
flush().
port_command(P, [B255, B256 | lists:duplicate(15, B100)]).
flush().
port_command(P, [B256, B255 | lists:duplicate(14, B100)]).
flush().
port_command(P, lists:duplicate(7, [1, <<2>>])).
flush().
port_command(P, lists:duplicate(8, [1, <<2>>])).
flush().
port_command(P, lists:duplicate(8, [<<2>>, <<>>])).
flush().
port_command(P, [B256 | lists:duplicate(16, [1, B256])]).
flush().

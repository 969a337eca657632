% erl_drv_output_term to the port owner, one spec kind per control: the
% message is the built term itself (no {Port, ...} around it) and the return
% value is 1. NIL; ATOM ('' and quoted names); INT, UINT, INT64, UINT64 at
% the small/big boundaries and the extremes; FLOAT (-0.0 too); TUPLE of 0;
% LIST (improper, LIST 1 of a term is that term); STRING, STRING of length 0,
% STRING_CONS onto a string, an atom and [], bytes >= 128 as 128..255;
% BINARY sub-binaries (the driver binary's refc after the send is 3: the
% two parts over 64 bytes keep a reference, the small ones are copies);
% BUF2BINARY (NULL with length 0 is <<>>); PORT and PID; MAP (keys sorted,
% #{}, 40 pairs); EXT2TERM (trailing bytes ignored, compressed format);
% driver_output_term (deprecated) the same; driver_term_nil is 0x3B.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, term_drv).
P = open_port({spawn_driver, "term_drv"}, []).
list_to_atom(port_control(P, $N, "o")).
list_to_atom(port_control(P, $A, "o")).
list_to_atom(port_control(P, $I, "o")).
list_to_atom(port_control(P, $F, "o")).
list_to_atom(port_control(P, $T, "o")).
list_to_atom(port_control(P, $L, "o")).
list_to_atom(port_control(P, $s, "o")).
flush().
list_to_atom(port_control(P, $b, "o")).
list_to_atom(port_control(P, $B, "o")).
flush().
list_to_atom(port_control(P, $p, "o")).
receive {Port, Caller, Connected} -> {Port =:= P, Caller =:= self(), Connected =:= self()} end.
list_to_atom(port_control(P, $M, "o")).
flush().
list_to_atom(port_control(P, $H, "o")).
receive M -> {map_size(M), map_get(1, M), map_get(17, M), map_get(40, M)} end.
list_to_atom(port_control(P, $e, [$o | binary_to_list(term_to_binary({a, [1, 2], <<"b">>, 1.5, "str"}))])).
list_to_atom(port_control(P, $e, [$o, 131, 104, 6, 70, 63, 248, 0, 0, 0, 0, 0, 0, 98, 255, 255, 255, 249, 110, 13, 0, 210, 10, 63, 78, 238, 224, 115, 195, 246, 15, 233, 142, 1, 107, 0, 3, 115, 116, 114, 109, 0, 0, 0, 2, 1, 2, 116, 0, 0, 0, 1, 100, 0, 1, 107, 100, 0, 1, 118])).
list_to_atom(port_control(P, $e, [$o, 131, 97, 1, 0, 0])).
list_to_atom(port_control(P, $e, [$o, 131, 80, 0, 0, 1, 185, 120, 156, 203, 96, 202, 97, 96, 96, 72, 73, 97, 96, 76, 28, 197, 131, 7, 103, 101, 51, 200, 85, 224, 5, 0, 243, 221, 93, 150])).
flush().
list_to_atom(port_control(P, $A, "O")).
list_to_atom(port_control(P, $b, "O")).
list_to_atom(port_control(P, $e, [$O | binary_to_list(term_to_binary([x, {y}]))])).
flush().
list_to_atom(port_control(P, $V, "")).
erlang:port_info(P, input).
port_close(P).

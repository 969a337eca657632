% erlang:port_call/3 and /2: the argument arrives as term_to_binary (OTP 25
% encoding: an atom is ATOM_EXT, so `hello` is 9 bytes), the reply is
% decoded from the external format; the default rlen (255); replies larger
% than rlen (driver_alloc'ed); port_call/2 uses operation 0.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
erlang:port_call(P, 0, {a, "b", <<"c">>, 1.5, -7, [], 1 bsl 70, self(), P}).
erlang:port_call(P, 0, [x | y]).
erlang:port_call(P, 0, lists:seq(1, 300)).
erlang:port_call(P, 0, list_to_binary(lists:duplicate(1000, 7))).
erlang:port_call(P, 2, hello).
erlang:port_call(P, 2, 'hello world').
erlang:port_call(P, 2, "abc").
erlang:port_call(P, 2, 300).
erlang:port_call(P, 2, {}).
erlang:port_call(P, 3, x).
erlang:port_call(P, 4, []).
erlang:port_call(P, 4, lists:seq(1, 1000)).
erlang:port_call(P, 99, x).
erlang:port_call(P, {a, b}).

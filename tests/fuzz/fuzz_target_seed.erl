% Seed corpus for `porthost fuzz fuzz_target_drv` (tests/fuzz.rs): the
% operations below are what the fuzzer starts mutating from.
P = open_port({spawn_driver, "fuzz_target_drv"}, [binary]).
port_control(P, $z, "hello").
port_control(P, $e, "echo me").
port_command(P, "some data").
erlang:port_call(P, 3, [1,2]).

% rs_all_drv: the SDK's callbacks, one by one.
process_flag(trap_exit, true).
P = open_port({spawn_driver, "rs_all_drv"}, [binary]).
port_command(P, [<<"io">>, "vec"]).
receive {P, {data, D}} -> D after 5000 -> timeout end.
port_control(P, $t, "").
receive {P, timeout} -> timeout after 5000 -> none end.
port_control(P, $a, "abc").
receive {P, {async, R}} -> R after 5000 -> none end.
erlang:port_call(P, 0, {x, [1, -70000, 1 bsl 40, 2.5, <<"b">>, "str"], #{k => v}}).
port_control(P, $s, "").
receive {P, ready_input} -> ready_input after 5000 -> none end.
Self = self(), ok.
Pid = spawn(fun() -> port_control(P, $m, ""), Self ! monitored, receive stop -> ok end end), ok.
receive monitored -> ok after 5000 -> none end.
Pid ! stop.
receive {P, {exited, M}} -> M after 5000 -> none end.
port_control(P, $q, "x").
receive {'EXIT', P, Reason} -> Reason after 5000 -> none end.

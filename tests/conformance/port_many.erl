% ERTS: port_SUITE:mul_basic, ports_3, iter_max_ports (driver ports), port_info1, port_info2, name1
% Many driver ports at once, each answering its own data; erlang:ports/0
% lists them; port_info's items for a driver port.
ok = erl_ddll:load_driver("@BUNDLED@", echo_drv).
Ps = [open_port({spawn, "echo_drv " ++ integer_to_list(I)}, [binary]) || I <- lists:seq(1, 60)], ok.
[port_command(P, integer_to_list(I)) || {P, I} <- lists:zip(Ps, lists:seq(1, 60))], ok.
[receive {P, {data, D}} -> binary_to_list(D) =:= integer_to_list(I) after 2000 -> timeout end || {P, I} <- lists:zip(Ps, lists:seq(1, 60))] =:= lists:duplicate(60, true).
lists:all(fun(P) -> lists:member(P, erlang:ports()) end, Ps).
P1 = hd(Ps), ok.
[element(1, I) || I <- erlang:port_info(P1)].
erlang:port_info(P1, name).
erlang:port_info(P1, input).
erlang:port_info(P1, output).
erlang:port_info(P1, queue_size).
erlang:port_info(P1, links) =:= {links, [self()]}.
erlang:port_info(P1, connected) =:= {connected, self()}.
erlang:port_info(P1, registered_name).
register(cf_first, P1), erlang:port_info(P1, registered_name).
element(1, erlang:port_info(P1, id)).
erlang:port_info(P1, parallelism).
erlang:port_info(P1, locking).
[port_close(P) || P <- Ps], [P || P <- Ps, lists:member(P, erlang:ports())].
erlang:port_info(P1, name).
[case catch erlang:port_info(P1, I) of {'EXIT', {E, _}} -> E; V -> V end || I <- [no_such_item, 42, memory]].
P2 = open_port({spawn, echo_drv}, []), [case catch erlang:port_info(P2, I) of {'EXIT', {E, _}} -> E; V -> V end || I <- [no_such_item, 42]].
port_close(P2).

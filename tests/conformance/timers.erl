% ERTS: driver_SUITE:timer_cancel, timer_change, timer_delay, timer_measure
% Timers fire neither early nor late, a cancelled timer does not fire, a
% timer set again counts from the new setting, a timer set after a sleep in
% the callback counts from when it was set, driver_read_timer reports the
% time left, and timers of two ports fire in order of their deadlines.
ok = erl_ddll:load_driver("@DRIVERS@", cf_timer_drv).
P = open_port({spawn, cf_timer_drv}, []).
Get = fun() -> receive {P, {data, D}} -> D after 3000 -> timeout end end, ok.
port_command(P, <<0, 200:32>>), Get().
port_command(P, <<6>>), Get().
port_command(P, <<0, 1000:32>>), receive after 100 -> ok end, port_command(P, <<6>>), Get().
port_command(P, <<1>>), Get().
receive {P, _} = M -> M after 1300 -> none end.
port_command(P, <<0, 10000:32>>), port_command(P, <<5, 150:32>>), Get().
port_command(P, <<2, 100:32>>), Get().
port_command(P, <<0, 0:32>>), Get().
Q = open_port({spawn, cf_timer_drv}, []).
port_command(P, <<0, 300:32>>), port_command(Q, <<0, 100:32>>), ok.
[receive {X, {data, [3 | _]}} -> X after 2000 -> timeout end || _ <- [1, 2]] =:= [Q, P].
port_close(P), port_close(Q).
flush().

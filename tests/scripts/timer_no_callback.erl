% driver_set_timer on a driver without a timeout callback: ERTS 25 returns
% 0 (and nothing happens when the timer runs out).
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, select_drv).
P = open_port({spawn_driver, "select_drv"}, []).
port_control(P, $t, "").
receive M -> M after 200 -> none end.
list_to_atom(port_control(P, $K, "")).
erlang:port_info(P, connected) =:= {connected, self()}.
flush().

% driver_create_port from a control: a second port owned by and linked to
% driver_caller, named as the driver asked (not binary, even when its
% creator is), counted by erl_ddll; it sends, takes commands and closes;
% killing it runs its stop. An empty name is the empty name.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, port_drv).
P = open_port({spawn_driver, "port_drv"}, [binary]).
port_control(P, $c, "child one").
C = receive {Q, {data, Hello}} -> {Q, Hello} after 1000 -> timeout end.
C2 = element(1, C).
C2 =:= P.
is_port(C2).
erlang:port_info(C2, name).
erlang:port_info(C2, links).
erlang:port_info(C2, connected).
erlang:port_info(C2, input).
Self = self(), ok.
erlang:port_info(C2, links) =:= {links, [Self]}.
erlang:port_info(C2, connected) =:= {connected, Self}.
erlang:port_info(C2, os_pid).
erl_ddll:info(port_drv, port_count).
port_command(C2, "to child").
flush().
port_control(C2, $F, "").
port_control(P, $F, "").
port_control(C2, $K, "").
port_close(C2).
port_control(P, $K, "").
erl_ddll:info(port_drv, port_count).
port_control(P, $c, "").
C3 = receive {Q3, {data, _}} -> Q3 after 1000 -> timeout end.
erlang:port_info(C3, name).
process_flag(trap_exit, true).
exit(C3, kill).
flush().
port_control(P, $K, "").
erl_ddll:info(port_drv, port_count).

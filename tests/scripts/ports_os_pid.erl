% erl_drv_set_os_pid: port_info(P, os_pid) reports what the driver set;
% undefined before and for a negative value.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, port_drv).
P = open_port({spawn_driver, "port_drv"}, []).
erlang:port_info(P, os_pid).
port_control(P, $p, "4242").
erlang:port_info(P, os_pid).
port_control(P, $p, "-1").
erlang:port_info(P, os_pid).
port_control(P, $p, "0").
erlang:port_info(P, os_pid).
port_control(P, $p, "-7").
erlang:port_info(P, os_pid).
port_control(P, $p, "2147483648").
erlang:port_info(P, os_pid).
lists:keyfind(os_pid, 1, erlang:port_info(P)).
port_close(P).
erlang:port_info(P, os_pid).

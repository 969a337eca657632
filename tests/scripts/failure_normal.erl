% Failures whose reason is normal do not kill a script that does not trap
% exits: driver_failure(P, 0), driver_failure_eof, driver_exit(P, 0) and
% driver_exit(P, 22) (driver_exit unlinks the owner first). Each port is gone
% afterwards.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, probe_drv).
P1 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P1, $f, "0").
erlang:port_info(P1).
P2 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P2, $e, "").
erlang:port_info(P2).
P3 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P3, $x, "0").
erlang:port_info(P3).
P4 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P4, $x, "22").
erlang:port_info(P4).
P5 = open_port({spawn_driver, "probe_drv"}, []).
port_close(P5).
P6 = open_port({spawn_driver, "probe_drv"}, []).
P6 ! {self(), close}.
receive M6 -> M6 after 1000 -> timeout end.
flush().

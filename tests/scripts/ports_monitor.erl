% driver_monitor_process on the only process a script has, itself: monitors
% of a live process (0), driver_get_monitored_process (the caller; nil for
% a monitor that does not exist or is gone), driver_compare_monitors,
% driver_demonitor_process (0, then 1), port_info's monitors; a driver
% without process_exit refuses (-1). Closing the port drops its monitors
% (no process_exit runs).
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, port_drv).
erl_ddll:load_driver(D, soft_busy_drv).
P = open_port({spawn_driver, "port_drv"}, []).
erlang:port_info(P, monitors).
port_control(P, $g, "0").
port_control(P, $u, "0").
port_control(P, $m, "0").
port_control(P, $m, "1").
erlang:port_info(P, monitors).
Self = self(), ok.
erlang:port_info(P, monitors) =:= {monitors, [{process, Self}, {process, Self}]}.
port_control(P, $g, "0").
port_control(P, $g, "1").
port_control(P, $C, "0").
port_control(P, $C, "0 1").
port_control(P, $C, "1 1").
port_control(P, $u, "0").
port_control(P, $u, "0").
port_control(P, $g, "0").
port_control(P, $g, "1").
erlang:port_info(P, monitors).
port_control(P, $s, "").
port_control(P, $M, "2").
port_control(P, $g, "2").
port_control(P, $u, "1").
port_control(P, $u, "2").
erlang:port_info(P, monitors).
port_control(P, $m, "3").
S = open_port({spawn_driver, "soft_busy_drv"}, []).
port_control(S, $m, "0").
port_control(S, $g, "0").
port_control(S, $u, "0").
erlang:port_info(S, monitors).
port_close(P).
port_close(S).
flush().

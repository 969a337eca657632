% A term a driver sends outside any request (from its timeout), whose first
% element is not the port: erl_drv_send_term to driver_connected arrives,
% in-process and from a worker alike.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, port_drv).
P = open_port({spawn_driver, "port_drv"}, []).
port_control(P, $U, "20").
receive {tick, P} -> tick_arrived after 2000 -> timeout end.
port_control(P, $U, "0").
receive {tick, P} -> tick_arrived after 2000 -> timeout end.
port_close(P).

% erl_drv_busy_msgq_limits as the driver reads it back ("r": READ_ONLY,
% "d": DISABLED, "-": a NULL pointer): ERTS's defaults (4096, 8192), setting
% each limit, the adjustments that keep low =< high, disabling (the call
% reads back what it was given; later calls read DISABLED and set nothing);
% a driver with ERL_DRV_FLAG_NO_BUSY_MSGQ reads DISABLED from the start.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, port_drv).
erl_ddll:load_driver(D, soft_busy_drv).
P = open_port({spawn_driver, "port_drv"}, []).
port_control(P, $l, "r r").
port_control(P, $l, "- r").
port_control(P, $l, "r -").
port_control(P, $l, "- -").
port_control(P, $l, "100 200").
port_control(P, $l, "r r").
port_control(P, $l, "300 r").
port_control(P, $l, "r 50").
port_control(P, $l, "r r").
port_control(P, $l, "70 60").
port_control(P, $l, "1 18446744073709551614").
port_control(P, $l, "r d").
port_control(P, $l, "r r").
port_control(P, $l, "10 20").
P2 = open_port({spawn_driver, "port_drv"}, []).
port_control(P2, $l, "d 5").
port_control(P2, $l, "- r").
P3 = open_port({spawn_driver, "port_drv"}, []).
port_control(P3, $l, "d -").
port_control(P3, $l, "r r").
S = open_port({spawn_driver, "soft_busy_drv"}, []).
port_control(S, $l, "r r").
port_control(S, $l, "10 20").
port_control(S, $l, "- 20").

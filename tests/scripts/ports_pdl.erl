% Port data locks: driver_pdl_create (a second create gives NULL), the
% reference count (1 after create; the lock holder counts too: 2 while
% locked), inc/dec, a reference kept past the port's close (the count drops
% by the port's own one when the port closes; the last dec answers 0).
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, port_drv).
P = open_port({spawn_driver, "port_drv"}, []).
port_control(P, $P, "").
port_control(P, $P, "").
port_control(P, $r, "").
port_control(P, $L, "").
port_control(P, $r, "").
port_control(P, $i, "").
port_control(P, $L, "").
port_control(P, $r, "").
port_control(P, $d, "").
port_control(P, $S, "").
port_control(P, $R, "").
P2 = open_port({spawn_driver, "port_drv"}, []).
port_close(P).
port_control(P2, $R, "").
port_control(P2, $D, "").
port_control(P2, $P, "").
port_control(P2, $r, "").
port_close(P2).

% ERTS: driver_SUITE:consume_timeslice
% erl_drv_consume_timeslice from port_control: 100 % exhausts the slice at
% once; small percentages add up to a full slice; values out of 1..100 are
% clamped.
ok = erl_ddll:load_driver("@DRIVERS@", cf_sys_drv).
P = open_port({spawn, cf_sys_drv}, []).
port_control(P, $c, [100, 1]).
port_control(P, $c, [100, 3]).
port_control(P, $c, [50, 3]).
port_control(P, $c, [10, 12]).
port_control(P, $c, [0, 12]).
port_control(P, $c, [251, 1]).  % -5 as a signed char
port_control(P, $c, [127, 1]).
port_close(P).

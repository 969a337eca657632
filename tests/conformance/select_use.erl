% ERTS: driver_SUITE:driver_select_use, bad_fd_in_pollset, use_fallback_pollset (edge cases)
% driver_select with ERL_DRV_USE: input arrives through ready_input; a
% deselect of READ alone keeps the fd in use (no stop_select); deselecting
% READ|USE, or USE alone, calls stop_select, which closes the fd; a select
% of fd -1 fails; deselecting an fd never selected is a no-op; a port that
% closes with an fd still in use gets no stop_select (ERTS logs "driver gone
% away without deselecting!").
ok = erl_ddll:load_driver("@DRIVERS@", cf_select_drv).
P = open_port({spawn, cf_select_drv}, []).
In = fun() -> receive {P, {data, D}} -> D after 2000 -> timeout end end, ok.
Log = fun() -> receive after 100 -> ok end, port_control(P, $L, "") end, ok.
port_control(P, $p, ""), port_control(P, $r, "").
port_control(P, $w, ""), In().
port_control(P, $x, ""), Log().
port_control(P, $R, ""), port_control(P, $w, ""), In().
port_control(P, $u, ""), Log().
port_control(P, $p, ""), port_control(P, $r, ""), port_control(P, $U, ""), Log().
port_control(P, $n, "").
port_control(P, $z, "").
port_control(P, $p, ""), port_control(P, $R, ""), port_control(P, $x, ""), Log().
receive M -> M after 200 -> none end.
port_control(P, $p, ""), port_control(P, $r, ""), port_close(P).
Q = open_port({spawn, cf_select_drv}, []), port_control(Q, $L, "").
port_close(Q).
R = open_port({spawn, cf_select_drv}, []), receive after 100 -> ok end, port_control(R, $L, "").
port_close(R).
flush().

% ERTS: driver_SUITE:fd_change, bad_fd_in_pollset
% A driver deselects an fd, closes it, makes a new pipe that gets the same
% fd number and selects that: input on the new pipe arrives. Then it
% closes a selected fd without deselecting it first, makes a new pipe (the
% same number again) and selects it: that input never arrives (the fd
% still counts as selected, so it is not registered with the poller again;
% the kernel dropped the closed one).
ok = erl_ddll:load_driver("@DRIVERS@", cf_select_drv).
P = open_port({spawn, cf_select_drv}, []).
In = fun() -> receive {P, {data, D}} -> D after 2000 -> timeout end end, ok.
port_control(P, $p, ""), port_control(P, $R, "").
port_control(P, $w, ""), In().
port_control(P, $x, ""), port_control(P, $c, ""), port_control(P, $p, ""), port_control(P, $R, "").
port_control(P, $w, ""), receive {P, {data, D}} -> D after 500 -> timeout end.
port_control(P, $c, ""), port_control(P, $p, ""), port_control(P, $R, "").
port_control(P, $w, ""), receive {P, {data, D}} -> D after 500 -> timeout end.
port_control(P, $x, "").
receive M -> M after 200 -> none end.
port_close(P).

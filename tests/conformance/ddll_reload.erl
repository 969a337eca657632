% ERTS: ddll_SUITE:reload_pending, reload_pending_kill, unload_reload_thingie, load_fail_init
% erl_ddll:reload of a driver without ports reloads it at once; reload of a
% driver that other processes also loaded fails (pending_process); a
% driver that is not loaded cannot be reloaded; loading under a name whose
% library does not match fails and leaves the loaded one alone.
D = "@DRIVERS@", ok.
Main = self(), ok.
erl_ddll:reload(D, cf_lock_drv).
erl_ddll:load_driver(D, cf_lock_drv).
erl_ddll:reload(D, cf_lock_drv).
erl_ddll:reload_driver(D, cf_lock_drv).
P = open_port({spawn, cf_lock_drv}, []), port_control(P, 0, "").
A = spawn(fun() -> Main ! {a, erl_ddll:load_driver(D, cf_lock_drv)}, receive stop -> ok end end), receive {a, RA} -> RA after 2000 -> timeout end.
erl_ddll:reload(D, cf_lock_drv).
port_control(P, 0, "").
erl_ddll:load_driver("@TDRIVERS@", init_fail_drv).
erl_ddll:load_driver("@TDRIVERS@", wrong_name_drv).
port_close(P).
Ref = monitor(process, A), A ! stop, receive {'DOWN', Ref, process, A, W} -> W after 2000 -> timeout end.
erl_ddll:unload_driver(cf_lock_drv).
receive after 100 -> ok end, lists:member("cf_lock_drv", element(2, erl_ddll:loaded_drivers())).
flush().

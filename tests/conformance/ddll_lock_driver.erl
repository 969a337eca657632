% ERTS: ddll_SUITE:lock_driver, properties
% driver_lock_driver makes a driver permanent: unloading it fails with
% permanent, erl_ddll:info reports it, its ports keep working and it stays
% loaded when they close.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, cf_lock_drv).
P = open_port({spawn, cf_lock_drv}, []).
erl_ddll:info(cf_lock_drv, permanent).
port_control(P, $L, "").
erl_ddll:info(cf_lock_drv, permanent).
erl_ddll:unload_driver(cf_lock_drv).
erl_ddll:try_unload(cf_lock_drv, []).
erl_ddll:try_unload(cf_lock_drv, [kill_ports]).
port_control(P, 0, "").
port_close(P).
lists:member("cf_lock_drv", element(2, erl_ddll:loaded_drivers())).
erl_ddll:load_driver(D, cf_lock_drv).
erl_ddll:reload(D, cf_lock_drv).
erl_ddll:info(cf_lock_drv, processes) =/= [].
Q = open_port({spawn, cf_lock_drv}, []), port_control(Q, 0, "").
port_close(Q).

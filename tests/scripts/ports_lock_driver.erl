% driver_lock_driver: 0 (twice); the driver becomes permanent:
% erl_ddll:info(Drv, permanent) says so, unload/unload_driver/try_unload and
% load/load_driver answer {error, permanent}, and the driver stays loaded
% (its state too) after its last port closes. (ERTS's erl_ddll:info also
% answers `permanent` for processes, port_count and awaiting_*; porthost
% does not yet, so those items are not shown here.)
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, port_drv).
P = open_port({spawn_driver, "port_drv"}, []).
erl_ddll:info(port_drv, permanent).
port_control(P, $k, "").
port_control(P, $k, "").
erl_ddll:info(port_drv, permanent).
erl_ddll:info(port_drv, driver_options).
erl_ddll:info(port_drv, linked_in_driver).
port_close(P).
erl_ddll:unload(port_drv).
erl_ddll:unload_driver(port_drv).
erl_ddll:try_unload(port_drv, []).
erl_ddll:load_driver(D, port_drv).
erl_ddll:load(D, port_drv).
lists:member("port_drv", element(2, erl_ddll:loaded_drivers())).
P2 = open_port({spawn_driver, "port_drv"}, []).
port_control(P2, $K, "").

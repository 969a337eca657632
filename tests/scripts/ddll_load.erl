% erl_ddll on a good driver without ports: load/load_driver/unload/
% unload_driver, the per-process reference count, info/1,2 (item order),
% try_load/try_unload replies, reload, loaded_drivers membership, and
% load_driver's mapping of `inconsistent` (other driver_options) to
% `bad_driver_name`. Ends with info/2 on a driver that is not loaded: badarg.
D = "@DRIVERS@", ok.
erl_ddll:load(D, probe_drv).
erl_ddll:load(D, "probe_drv").
erl_ddll:info(probe_drv, processes).
erl_ddll:load_driver(D, probe_drv).
erl_ddll:info(probe_drv).
erl_ddll:info().
erl_ddll:info(probe_drv, driver_options).
erl_ddll:info(probe_drv, port_count).
erl_ddll:info(probe_drv, linked_in_driver).
erl_ddll:info(probe_drv, permanent).
erl_ddll:info(probe_drv, awaiting_load).
erl_ddll:info(probe_drv, awaiting_unload).
lists:member("probe_drv", element(2, erl_ddll:loaded_drivers())).
erl_ddll:unload(probe_drv).
erl_ddll:info(probe_drv, processes).
erl_ddll:unload(probe_drv).
erl_ddll:unload(probe_drv).
lists:member("probe_drv", element(2, erl_ddll:loaded_drivers())).
erl_ddll:info().
erl_ddll:try_load(D, probe_drv, []).
erl_ddll:try_load(D, probe_drv, []).
erl_ddll:try_unload(probe_drv, []).
erl_ddll:try_unload(probe_drv, []).
erl_ddll:try_unload(probe_drv, []).
erl_ddll:load_driver(D, probe_drv).
erl_ddll:info(probe_drv, driver_options).
erl_ddll:load(D, probe_drv).
erl_ddll:try_load(D, probe_drv, [{driver_options, [kill_ports]}]).
erl_ddll:info(probe_drv, processes).
erl_ddll:unload_driver(probe_drv).
erl_ddll:unload_driver(probe_drv).
erl_ddll:unload_driver(probe_drv).
erl_ddll:load(D, probe_drv).
erl_ddll:reload(D, probe_drv).
erl_ddll:reload_driver(D, probe_drv).
erl_ddll:info(probe_drv, processes).
erl_ddll:unload(probe_drv).
erl_ddll:unload(probe_drv).
erl_ddll:unload(no_such_drv).
erl_ddll:unload_driver(no_such_drv).
erl_ddll:try_unload(no_such_drv, []).
flush().
erl_ddll:info(no_such_drv, processes).

% add_driver_entry / remove_driver_entry from a (locked) driver: the added
% entry's init runs, open_port finds it by its name and it works; remove_driver_entry answers 0 for an
% entry never added (or already removed), -1 for the driver's own entry
% (loaded by erl_ddll) and 1 when it removes one; a removed driver cannot
% be opened (badarg). (ERTS also lists an added driver in
% erl_ddll:loaded_drivers and answers linked_in_driver for its
% erl_ddll:info; porthost does not yet, so neither is shown here.)
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, port_drv).
P = open_port({spawn_driver, "port_drv"}, []).
port_control(P, $k, "").
port_control(P, $Y, "").
port_control(P, $X, "").
port_control(P, $e, "").
port_control(P, $a, "").
port_control(P, $K, "").
E = open_port({spawn_driver, "port_drv_extra"}, []).
erlang:port_info(E, name).
port_command(E, "x").
flush().
port_control(E, $K, "").
port_close(E).
port_control(P, $e, "").
port_control(P, $e, "").
port_control(P, $K, "").
case catch open_port({spawn_driver, "port_drv_extra"}, []) of {'EXIT', {R, _}} -> R end.
port_control(P, $X, "").
port_close(P).

% erl_ddll with open ports: unload by the last user leaves the driver loaded
% while a port uses it (port_count, and loaded_drivers still lists it) and
% the port keeps working; closing the port completes the unload.
% unload_driver (kill_ports) kills the ports with reason driver_unloaded.
D = "@DRIVERS@", ok.
process_flag(trap_exit, true).
erl_ddll:load(D, probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
erl_ddll:info(probe_drv, port_count).
erl_ddll:unload(probe_drv).
erl_ddll:info(probe_drv, port_count).
erl_ddll:info(probe_drv, processes).
lists:member("probe_drv", element(2, erl_ddll:loaded_drivers())).
port_control(P, $c, "").
port_close(P).
receive {'EXIT', P, R1} -> {exit, R1} after 1000 -> timeout end.
lists:member("probe_drv", element(2, erl_ddll:loaded_drivers())).
erl_ddll:load_driver(D, probe_drv).
Q = open_port({spawn_driver, "probe_drv"}, []).
erl_ddll:unload_driver(probe_drv).
receive {'EXIT', Q, R2} -> {exit, R2} after 1000 -> timeout end.
erlang:port_info(Q).
lists:member("probe_drv", element(2, erl_ddll:loaded_drivers())).
erl_ddll:load_driver(D, probe_drv).
Q2 = open_port({spawn_driver, "probe_drv"}, []).
erl_ddll:try_unload(probe_drv, [kill_ports]).
receive {'EXIT', Q2, R3} -> {exit, R3} after 1000 -> timeout end.
flush().

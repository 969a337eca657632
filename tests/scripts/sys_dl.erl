% driver_dl_open/_sym/_close/_error (sys_drv $d, all in one callback, first
% in the run): driver_dl_open appends ".so" to its path; driver_dl_error
% reports the calling thread's last failed driver_dl_sym ("Unspecified
% dynamic library error" before any), never a failed driver_dl_open.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, sys_drv).
P = open_port({spawn_driver, "sys_drv"}, []).
erlang:port_call(P, $d, D ++ "/sys_drv").
port_close(P).

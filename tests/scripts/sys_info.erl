% System facts and services (sys_drv, port_call): driver_system_info for
% each struct version (fields past si_size stay untouched), null_func,
% erl_drv_convert_time_unit (floors towards minus infinity; bad units give
% ERL_DRV_TIME_ERROR), monotonic time, time offset and driver_get_now
% (consistency only: no machine-dependent values), and the environment:
% erl_drv_putenv/erl_drv_getenv with ERTS's sizes for the too-small and
% missing cases (size - 1, not the size needed), an empty value, a
% variable inherited from the OS, and libc's getenv not seeing the change.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, sys_drv).
P = open_port({spawn_driver, "sys_drv"}, []).
erlang:port_call(P, $i, []).
erlang:port_call(P, $n, []).
erlang:port_call(P, $c, []).
erlang:port_call(P, $T, []).
erlang:port_call(P, $e, []).
port_close(P).

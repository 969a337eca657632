% ERTS: driver_SUITE:driver_system_info_base_ver, driver_system_info_prev_ver, driver_system_info_current_ver
% driver_system_info fills only as much of ErlDrvSysInfo as the size a
% driver passes (the struct of an older erl_driver.h): the fields past it
% stay untouched. (A size short of the first version's, which ends at
% smp_support, aborts ERTS: not run here.)
ok = erl_ddll:load_driver("@DRIVERS@", cf_sys_drv).
P = open_port({spawn, cf_sys_drv}, []).
[port_control(P, $i, [F]) || F <- [1, 2, 3, 4]].
port_close(P).

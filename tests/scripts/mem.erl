% Memory, binaries and the last queue functions: erl_errno_id,
% driver_realloc, driver_realloc_binary, driver_binary_inc_refc /
% dec_refc, driver_pushqv (with a skip, in front of queued data).
erl_ddll:load_driver("@DRIVERS@", mem_drv).
P = open_port({spawn_driver, "mem_drv"}, []).
port_control(P, $e, "2").
port_control(P, $e, "22").
port_control(P, $e, "0").
port_control(P, $e, "99999").
port_control(P, $r, "").
port_control(P, $b, "").
port_control(P, $p, "tail").

% ERTS: driver_SUITE:peek_non_existing_queue
% An async job holds a port's PDL and peeks at its queue after the port has
% been killed: driver_peekq gives NULL and a negative length, driver_sizeq
% a negative size, nothing crashes. A second port's job on the same key
% reports what the first saw.
process_flag(trap_exit, true).
ok = erl_ddll:load_driver("@DRIVERS@", cf_queue_drv).
P1 = open_port({spawn, cf_queue_drv}, []).
port_control(P1, $X, "").
exit(P1, kill).
receive {'EXIT', P1, R} -> R after 1000 -> timeout end.
P2 = open_port({spawn, cf_queue_drv}, []).
port_control(P2, $Y, "").
receive {P2, peek_result, VecIsNull, Vlen, Size} -> {VecIsNull, Vlen < 0, Size < 0} after 3000 -> timeout end.
port_close(P2).
flush().

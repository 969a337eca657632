% ERTS: driver_SUITE:ioq_exit_ready_input, ioq_exit_ready_output, ioq_exit_timeout, ioq_exit_ready_async, ioq_exit_* (call, control, output, outputv, flush)
% A driver fails (driver_failure_atom) from each callback in turn while its
% queue holds data: the port exits with that reason at once (the queue is
% discarded, flush is not called), stop_select and stop run, and the port
% is gone. In flush, called by port_close with data queued, the failure
% ends the close; port_close has already unlinked the owner.
process_flag(trap_exit, true).
D = "@DRIVERS@", ok = erl_ddll:load_driver(D, cf_ioq_drv), ok = erl_ddll:load_driver(D, cf_ioqv_drv).
Log = open_port({spawn, cf_ioq_drv}, []), LogV = open_port({spawn, cf_ioqv_drv}, []), ok.
Wait = fun(P) -> receive {'EXIT', P, R} -> receive after 100 -> R end after 2000 -> timeout end end, ok.
Arm = fun(Drv, Op) -> P = open_port({spawn, Drv}, []), A = port_control(P, Op, ""), {A, Wait(P), erlang:port_info(P), port_control(Log, $L, "")} end, ok.
Arm(cf_ioq_drv, $i).
Arm(cf_ioq_drv, $o).
Arm(cf_ioq_drv, $t).
Arm(cf_ioq_drv, $a).
Arm(cf_ioq_drv, $c).
P1 = open_port({spawn, cf_ioq_drv}, []), {erlang:port_call(P1, 0, x), Wait(P1), erlang:port_info(P1), port_control(Log, $L, "")}.
P2 = open_port({spawn, cf_ioq_drv}, []), {port_command(P2, "data"), Wait(P2), erlang:port_info(P2), port_control(Log, $L, "")}.
P3 = open_port({spawn, cf_ioqv_drv}, []), {port_command(P3, ["da", <<"ta">>]), Wait(P3), erlang:port_info(P3), port_control(LogV, $L, "")}.
P4 = open_port({spawn, cf_ioq_drv}, []), {port_control(P4, $f, ""), port_close(P4), Wait(P4), erlang:port_info(P4), port_control(Log, $L, "")}.
port_close(Log), port_close(LogV).
flush().

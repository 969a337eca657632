% ERTS: driver_SUITE:thr_msg_blast, otp_6602 (term messages from driver threads)
% Driver threads send term messages: 4 threads × 500 with erl_drv_send_term
% to the caller, 1000 with erl_drv_output_term to the owner; every message
% arrives once and each thread's arrive in its order. A thread that sends
% after its port has closed gets -1, and nothing crashes.
ok = erl_ddll:load_driver("@DRIVERS@", cf_thr_drv).
P = open_port({spawn, cf_thr_drv}, []).
port_control(P, $t, [4, 50]).
Msgs = [receive {P, thr, I, S} -> {I, S} after 5000 -> timeout end || _ <- lists:seq(1, 2000)], ok.
[[S || {I2, S} <- Msgs, I2 =:= I] =:= lists:seq(1, 500) || I <- [1, 2, 3, 4]].
port_control(P, $o, [100]).
lists:map(fun(_) -> receive {P, thr, 1, S} -> S after 5000 -> timeout end end, lists:seq(1, 1000)) =:= lists:seq(1, 1000).
receive M -> M after 100 -> none end.
Q = open_port({spawn, cf_thr_drv}, []).
port_control(Q, $l, "").
port_close(Q).
port_control(P, $r, "").
receive M2 -> M2 after 100 -> none end.
port_close(P).

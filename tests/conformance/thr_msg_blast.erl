% ERTS: driver_SUITE:thr_msg_blast, otp_6602 (term messages from driver threads)
% Driver threads send term messages: 4 threads × 500 with erl_drv_send_term
% to the caller, 1000 with erl_drv_output_term to the owner; every message
% arrives once and each thread's arrive in its order. A thread that sends
% after its port has closed gets -1, and nothing crashes.
ok = erl_ddll:load_driver("@DRIVERS@", cf_thr_drv).
P = open_port({spawn, cf_thr_drv}, []).
port_control(P, $t, [4, 50]).
InOrder = fun(N, Threads) -> lists:foldl(fun(_, {Ok, Last}) -> receive {P, thr, I, S} -> {Ok andalso S =:= element(I, Last) + 1, setelement(I, Last, S)} after 5000 -> {false, Last} end end, {true, erlang:make_tuple(Threads, 0)}, lists:seq(1, N)) end, ok.
InOrder(2000, 4).
port_control(P, $o, [100]).
InOrder(1000, 1).
receive M -> M after 100 -> none end.
Q = open_port({spawn, cf_thr_drv}, []).
port_control(Q, $l, "").
port_close(Q).
port_control(P, $r, "").
receive M2 -> M2 after 100 -> none end.
port_close(P).

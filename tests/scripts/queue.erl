% The driver queue through the bundled queue_drv: outputv enqueues the whole
% ErlIOVec (the empty iov[0] is not queued, nor are empty enqueues),
% driver_enq/driver_enq_bin/driver_pushq/driver_pushq_bin, driver_peekq's
% segmentation, driver_deq (too much: -1, nothing changes), driver_outputv of
% the queue with a header in binary mode ([H1,H2,Bin,...|BinLast]) and in
% list mode (flat), and port_close of a port with a non-empty queue: flush
% outputs it (nothing is delivered while closing) and dequeues it.
erl_ddll:load_driver("@BUNDLED@", queue_drv).
Q = open_port({spawn_driver, "queue_drv"}, [binary]).
port_command(Q, [1, 2, <<3, 4>>, list_to_binary(lists:duplicate(70, $a)), 5]).
port_control(Q, $S, "").
port_control(Q, $V, "").
port_control(Q, $E, "xyz").
port_control(Q, $B, "BIN").
port_control(Q, $H, "head").
port_control(Q, $h, "hb").
port_control(Q, $V, "").
port_control(Q, $P, "").
port_control(Q, $D, "3").
port_control(Q, $V, "").
port_control(Q, $D, "1000").
port_control(Q, $S, "").
erlang:port_info(Q, queue_size).
port_control(Q, $O, "hd").
flush().
port_control(Q, $O, "").
flush().
port_control(Q, $S, "").
port_control(Q, $D, "0").
port_control(Q, $E, "").
port_command(Q, []).
port_control(Q, $V, "").
port_control(Q, $P, "").
port_command(Q, "abc").
port_command(Q, <<"def">>).
port_control(Q, $O, "").
flush().
port_command(Q, "abc").
port_control(Q, $O, "").
flush().
port_command(Q, "abc").
port_control(Q, $O, "h").
port_control(Q, $O, "h").
flush().
L = open_port({spawn_driver, "queue_drv"}, []).
port_command(L, ["abc", <<"de">>]).
port_control(L, $O, "").
port_control(L, $O, "x").
flush().
port_command(L, "tail").
port_close(L).
flush().
port_command(Q, "tail").
port_control(Q, $F, "timer").
port_close(Q).
lists:member(Q, erlang:ports()).
receive after 500 -> ok end.
lists:member(Q, erlang:ports()).
flush().

% ERTS: driver_SUITE:queue_echo
% Every way into the driver queue (enq, pushq, the _bin and v variants,
% enqv/pushqv with a skip from outputv) and out of it (deq, peekq, peekqv,
% sizeq), in a fixed sequence; the queue's contents are read back.
ok = erl_ddll:load_driver("@DRIVERS@", cf_queue_drv).
P = open_port({spawn, cf_queue_drv}, []).
port_control(P, $e, "world").
port_control(P, $p, "hello ").
port_control(P, $E, "!").
port_control(P, $P, ">> ").
port_control(P, $v, "abcdef").
port_control(P, $w, "012345").
port_control(P, $s, "").
port_control(P, $h, "100").
port_control(P, $q, "").
port_control(P, $d, "3").
port_control(P, $h, "100").
port_control(P, $d, "7").
port_control(P, $h, "5").
port_command(P, [$V, <<"tail">>, "-", <<"end">>]).
receive {P, {data, D1}} -> D1 after 1000 -> timeout end.
P ! {self(), {command, [$W, "head", <<":">>]}}.
receive {P, {data, D2}} -> D2 after 1000 -> timeout end.
port_control(P, $h, "100").
port_control(P, $d, "1000").
port_control(P, $d, "0").
Big = list_to_binary(lists:duplicate(100000, $z)), ok.
port_command(P, [$V, Big, Big]).
receive {P, {data, D3}} -> D3 after 1000 -> timeout end.
port_control(P, $d, "199990").
port_control(P, $h, "100").
port_control(P, $s, "").
port_close(P).
flush().

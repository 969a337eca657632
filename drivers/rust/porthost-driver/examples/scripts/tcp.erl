% rs_tcp_drv: bytes through a loopback TCP connection, read on driver_select.
P = open_port({spawn_driver, "rs_tcp_drv"}, [binary]).
port_command(P, <<"over tcp">>).
receive {P, {data, D}} -> D after 5000 -> timeout end.
port_control(P, $c, "").
receive {P, eof} -> eof after 5000 -> timeout end.
port_close(P).

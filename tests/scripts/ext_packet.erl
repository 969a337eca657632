% {packet, 1 | 2 | 4} through cat: the header is added on the way out and
% taken off on the way in, a packet arrives whole (65,535 bytes too), an
% empty packet is an empty message; binary and list modes. A packet too
% large for its header: port_command returns true, the port exits einval.
process_flag(trap_exit, true).
P1 = open_port({spawn, "cat"}, [{packet, 1}]).
port_command(P1, "hello").
receive {P1, {data, D1}} -> D1 after 1000 -> timeout end.
port_command(P1, "").
receive {P1, {data, D2}} -> D2 after 1000 -> timeout end.
port_command(P1, lists:duplicate(255, $x)).
receive {P1, {data, D3}} -> length(D3) after 1000 -> timeout end.
port_close(P1).
receive M1 -> M1 after 1000 -> timeout end.
P2 = open_port({spawn, "cat"}, [{packet, 2}, binary]).
port_command(P2, [<<"ab">>, "cd", 101]).
receive {P2, {data, D4}} -> D4 after 1000 -> timeout end.
port_command(P2, binary:copy(<<"y">>, 65535)).
receive {P2, {data, D5}} -> byte_size(D5) after 1000 -> timeout end.
port_close(P2).
receive {'EXIT', P2, R2} -> R2 after 1000 -> timeout end.
P3 = open_port({spawn, "cat"}, [{packet, 4}, binary]).
port_command(P3, binary:copy(<<"z">>, 100000)).
receive {P3, {data, D6}} -> byte_size(D6) after 1000 -> timeout end.
port_command(P3, <<1, 2, 3>>).
receive {P3, {data, D7}} -> D7 after 1000 -> timeout end.
port_close(P3).
receive {'EXIT', P3, R3} -> R3 after 1000 -> timeout end.
P4 = open_port({spawn, "cat"}, [{packet, 1}]).
port_command(P4, lists:duplicate(256, $x)).
receive M2 -> M2 after 1000 -> timeout end.
erlang:port_info(P4).
P5 = open_port({spawn, "cat"}, [{packet, 2}, binary]).
port_command(P5, binary:copy(<<"y">>, 65536)).
receive M3 -> M3 after 1000 -> timeout end.
P6 = open_port({spawn, "printf '\\000\\000\\000\\003abc\\000\\000\\000\\000\\000\\000\\000\\011ab'"}, [{packet, 4}, exit_status]).
receive M4 -> M4 after 1000 -> timeout end.
receive M5 -> M5 after 1000 -> timeout end.
receive M6 -> M6 after 1000 -> timeout end.
receive M7 -> M7 after 1000 -> timeout end.
receive M8 -> M8 after 300 -> timeout end.
P7 = open_port({spawn, "printf '\\002hi\\001'"}, [{packet, 1}, eof]).
receive M9 -> M9 after 1000 -> timeout end.
receive M10 -> M10 after 1000 -> timeout end.
receive M11 -> M11 after 300 -> timeout end.
port_close(P7).
receive M12 -> M12 after 1000 -> timeout end.

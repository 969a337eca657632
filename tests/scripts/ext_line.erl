% {line, L}: {eol, Line} per line (\n and \r\n end one), a line longer than
% L cut into {noeol, Part} pieces, the unterminated rest delivered at EOF
% after {exit_status, N} and before eof, and a lone \r kept as data.
process_flag(trap_exit, true).
P1 = open_port({spawn, "printf 'abcd\\nefgh\\r\\n\\nijklmnop'"}, [{line, 4}, eof]).
receive M1 -> M1 after 1000 -> timeout end.
receive M2 -> M2 after 1000 -> timeout end.
receive M3 -> M3 after 1000 -> timeout end.
receive M4 -> M4 after 1000 -> timeout end.
receive M5 -> M5 after 1000 -> timeout end.
receive M6 -> M6 after 1000 -> timeout end.
receive M7 -> M7 after 300 -> timeout end.
port_close(P1).
receive M8 -> M8 after 1000 -> timeout end.
P2 = open_port({spawn, "printf 'abc\\ndefghijkl\\nxy'"}, [{line, 4}, exit_status, eof]).
receive M9 -> M9 after 1000 -> timeout end.
receive M10 -> M10 after 1000 -> timeout end.
receive M11 -> M11 after 1000 -> timeout end.
receive M12 -> M12 after 1000 -> timeout end.
receive M13 -> M13 after 1000 -> timeout end.
receive M14 -> M14 after 1000 -> timeout end.
receive M15 -> M15 after 1000 -> timeout end.
receive M16 -> M16 after 300 -> timeout end.
port_close(P2).
P3 = open_port({spawn, "printf 'a\\rb\\nab\\rc\\nxy\\r'"}, [{line, 2}, binary, exit_status]).
receive M17 -> M17 after 1000 -> timeout end.
receive M18 -> M18 after 1000 -> timeout end.
receive M19 -> M19 after 1000 -> timeout end.
receive M20 -> M20 after 1000 -> timeout end.
receive M21 -> M21 after 1000 -> timeout end.
receive M22 -> M22 after 1000 -> timeout end.
receive M23 -> M23 after 1000 -> timeout end.
receive M24 -> M24 after 1000 -> timeout end.
receive M25 -> M25 after 300 -> timeout end.
P4 = open_port({spawn, "cat"}, [{line, 3}]).
port_command(P4, "12").
port_command(P4, "345\n6").
receive M26 -> M26 after 1000 -> timeout end.
receive M27 -> M27 after 1000 -> timeout end.
receive M28 -> M28 after 300 -> timeout end.
port_close(P4).
flush().

% A closed port answers undefined to erlang:port_info/2, whatever the item
% (ERTS 25 does not check it, even for a non-atom).
P = open_port({spawn, "cat"}, []).
port_close(P).
catch erlang:port_info(P, no_such_item).
catch erlang:port_info(P, 42).
erlang:port_info(P, monitors).

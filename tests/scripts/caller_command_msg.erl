% A command sent as a message, Port ! {Owner, {command, Data}}, by a process
% that is not the owner: the driver's driver_caller in output is the sender
% (port_drv answers "caller" with erl_drv_send_term to driver_caller), and
% from the owner itself it is the owner.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, port_drv).
Main = self(), ok.
P = open_port({spawn_driver, "port_drv"}, []).
Other = spawn(fun() -> P ! {Main, {command, "caller"}}, receive M -> Main ! {other_got, M} after 1000 -> Main ! {other_got, nothing} end end), ok.
receive {other_got, {P, caller}} -> sender_got_it; {other_got, X} -> {sender_got, X} after 2000 -> timeout end.
receive {P, caller} -> owner_got_it after 100 -> owner_got_nothing end.
P ! {Main, {command, "caller"}}, ok.
receive {P, caller} -> owner_got_it after 1000 -> owner_got_nothing end.
port_close(P).

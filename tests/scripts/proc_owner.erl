% A second process owns a port: it opens it, so port data goes to it; the
% main process may still command the port (the data goes to the owner),
% then takes the port over with port_connect/2. The old owner stays linked
% until it exits (normally: the port, no longer its, stays open).
erl_ddll:load_driver("@BUNDLED@", echo_drv).
Main = self(), ok.
Owner = spawn(fun() ->
    Port = open_port({spawn_driver, "echo_drv"}, []),
    Main ! {port, Port},
    Loop = fun L() ->
        receive
            {echo, Data} ->
                port_command(Port, Data),
                receive {Port, {data, D}} -> Main ! {echoed, D} end,
                L();
            {Port, {data, D}} -> Main ! {owner_got, D}, L();
            stop -> ok
        end
    end,
    Loop()
end).
Port = receive {port, P} -> P after 1000 -> timeout end.
is_process_alive(Owner).
erlang:port_info(Port, connected).
erlang:port_info(Port, links).
Owner ! {echo, "hi"}, receive {echoed, D} -> D after 1000 -> timeout end.
port_command(Port, "from main").
receive {owner_got, D2} -> D2 after 1000 -> timeout end.
port_connect(Port, Main).
erlang:port_info(Port, connected).
erlang:port_info(Port, links).
port_command(Port, "now mine").
receive {Port, {data, D3}} -> D3 after 1000 -> timeout end.
M = monitor(process, Owner), Owner ! stop, receive {'DOWN', M, process, Owner, R} -> R end.
is_process_alive(Owner).
erlang:port_info(Port, connected).
erlang:port_info(Port, links).
port_close(Port).
flush().

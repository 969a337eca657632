% A port closes when its owner exits, whatever the reason: a normal end, an
% exit/1, an error, exit(Pid, kill). Each owner is a second process that
% opens the port and waits; the main process waits for its 'DOWN' and finds
% the port gone. A port's linked non-owner survives it.
erl_ddll:load_driver("@BUNDLED@", echo_drv).
Main = self(), ok.
Start = fun(Then) ->
    spawn(fun() ->
        Port = open_port({spawn_driver, "echo_drv"}, []),
        Main ! {port, self(), Port},
        receive go -> Then() end
    end)
end, ok.
PortOf = fun(Pid) -> receive {port, Pid, Port} -> Port after 1000 -> timeout end end, ok.
Stop = fun(Pid) ->
    M = monitor(process, Pid),
    Pid ! go,
    receive {'DOWN', M, process, Pid, R} -> R after 1000 -> timeout end
end, ok.
A = Start(fun() -> ok end).
PA = PortOf(A).
erlang:port_info(PA, connected).
link(PA).
erlang:port_info(PA, links).
Stop(A).
erlang:port_info(PA).
is_process_alive(A).
B = Start(fun() -> exit(bye) end), PB = PortOf(B), ok.
Stop(B).
erlang:port_info(PB).
C = Start(fun() -> element(1, Main) end), PC = PortOf(C), ok.
case Stop(C) of {Reason, _Stack} -> Reason end.
erlang:port_info(PC).
K = Start(fun() -> ok end), PK = PortOf(K), ok.
MK = monitor(process, K), exit(K, kill), receive {'DOWN', MK, process, K, RK} -> RK after 1000 -> timeout end.
erlang:port_info(PK).
flush().

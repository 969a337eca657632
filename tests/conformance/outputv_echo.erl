% ERTS: driver_SUITE:outputv_echo
% A driver with outputv echoes every command with driver_outputv: heap and
% large binaries, sub-binaries, lists, bytes and binaries mixed, improper
% tails, empty parts; sent with port_command and as Port ! {Pid, {command,
% Data}} by a process the port was connected to.
ok = erl_ddll:load_driver("@DRIVERS@", cf_outputv_drv).
P = open_port({spawn, cf_outputv_drv}, [binary]).
Echo = fun(Data) -> port_command(P, Data), receive {P, {data, D}} -> {iolist_to_binary(D) =:= iolist_to_binary(Data), byte_size(iolist_to_binary(D)), is_binary(D)} after 2000 -> timeout end end, ok.
Big = list_to_binary(lists:duplicate(1000, lists:seq(0, 255))), ok.
<<_:3/binary, Sub:100/binary, _/binary>> = Big, ok.
[Echo(X) || X <- [<<>>, <<1>>, <<1,2,3,4,5,6,7,8>>, lists:seq(1, 17), [], [[]], [1, [2, <<3>>], <<>>, 4],
                  [Big, 7, Sub, <<"x">> | <<"tail">>], [lists:seq(1, 33) | <<1, 2>>], Sub, [Sub, Sub], Big,
                  [<<I>> || I <- lists:seq(1, 40)], [Big, Big, Big]]].
port_command(P, [<<"ab">>, "cd" | <<"ef">>]), receive {P, {data, D1}} -> D1 after 1000 -> timeout end.
port_control(P, $n, "").
Main = self(), ok.
Pid = spawn(fun() -> receive go -> ok end, P ! {self(), {command, [<<"from ">>, "another process"]}}, receive {P, {data, D}} -> Main ! {got, D} after 2000 -> Main ! timeout end, receive stop -> ok end end).
port_connect(P, Pid), unlink(P), Pid ! go, receive {got, D2} -> D2; timeout -> timeout after 3000 -> none end.
erlang:port_info(P, connected) =:= {connected, Pid}.
Ref = monitor(process, Pid), Pid ! stop, receive {'DOWN', Ref, process, Pid, Why} -> Why after 2000 -> timeout end.
erlang:port_info(P, connected).
flush().

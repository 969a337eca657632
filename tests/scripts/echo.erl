% The bundled echo_drv, loaded with erl_ddll from the bundled drivers'
% directory (examples/echo.erl is the same without the load, for porthost,
% which finds bundled drivers by name).
erl_ddll:load_driver("@BUNDLED@", echo_drv).
P = open_port({spawn_driver, "echo_drv"}, []).
port_command(P, ["hello", $\s, <<"world">>]).
receive {P, {data, Data}} -> Data after 1000 -> timeout end.
port_control(P, 0, "control echo").
erlang:port_call(P, 0, {any, [term], <<"at all">>}).
port_control(P, 1, "now binary").
port_control(P, 0, "still binary").
port_close(P).
B = open_port({spawn_driver, "echo_drv"}, [binary]).
port_command(B, "bytes").
receive {B, {data, Bin}} -> Bin after 1000 -> timeout end.
port_close(B).

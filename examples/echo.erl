% A port script on the bundled echo driver. Run it with
%     porthost run examples/echo.erl
% porthost finds its bundled drivers (drivers/c/) by name, so no erl_ddll
% call is needed. Each expression's value is printed with ~w.
P = open_port({spawn_driver, "echo_drv"}, []).
% port_command: the driver sends the bytes back with driver_output.
port_command(P, ["hello", $\s, <<"world">>]).
receive {P, {data, Data}} -> Data after 1000 -> timeout end.
% port_control: operation 0 returns the data unchanged.
port_control(P, 0, "control echo").
% port_call: the term goes to the driver in the external format and back.
erlang:port_call(P, 0, {any, [term], <<"at all">>}).
% Operation 1 switches the port's control replies to binaries.
port_control(P, 1, "now binary").
port_close(P).

%% Replays the port operations of a porthost trace (porthost trace-to-script).
P5 = open_port({spawn_driver, "echo_drv"}, []).
port_command(P5, <<"hello world">>).
catch port_control(P5, 0, <<"control echo">>).
catch erlang:port_call(P5, 0, {any,[term],<<97,116,32,97,108,108>>}).
catch port_control(P5, 1, <<"now binary">>).
catch port_control(P5, 0, <<"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx">>).
port_close(P5).
flush().

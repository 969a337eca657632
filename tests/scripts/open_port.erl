% open_port on driver ports: the command string start receives (all of it,
% spaces included), an atom command, {spawn, Cmd} naming a loaded driver,
% options accepted for drivers, list vs binary mode of driver_output,
% output from start being delivered, port_info of a fresh port (its name is
% the whole command string), and port ids.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, probe_drv).
erl_ddll:load_driver(D, start_error_drv).
P1 = open_port({spawn_driver, "probe_drv  a b  c "}, []).
port_control(P1, $c, "").
erlang:port_info(P1).
P2 = open_port({spawn_driver, probe_drv}, []).
port_control(P2, $c, "").
P3 = open_port({spawn, "probe_drv x y"}, []).
port_control(P3, $c, "").
erlang:port_info(P3, name).
P4 = open_port({spawn_driver, "probe_drv"}, [binary]).
port_control(P4, $o, "bytes").
flush().
port_control(P1, $o, "bytes").
flush().
P5 = open_port({spawn_driver, "probe_drv"}, [binary, eof, {packet, 2}, stream]).
erlang:port_info(P5, id).
S = open_port({spawn_driver, "start_error_drv ok"}, []).
erlang:port_info(S, name).
erlang:port_info(S, id).
P6 = open_port({spawn_driver, "probe_drv out"}, []).
flush().
port_control(P6, $c, "").
port_close(P1).
port_close(P2).
port_close(P3).
port_close(P4).
port_close(P5).
port_close(S).
port_close(P6).
flush().

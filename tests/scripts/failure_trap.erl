% Exit reasons of each driver_failure variant and of driver_exit, seen by an
% owner that traps exits: driver_failure(N) gives N (0 gives normal),
% driver_failure_atom the atom, driver_failure_posix the errno's name
% (0 and unknown numbers give unknown), driver_failure_eof normal (or
% {Port, eof} and the port stays open with the eof option), driver_exit no
% message at all (the owner is unlinked first). The failing port_control
% still returns its reply.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, probe_drv).
erl_ddll:load_driver(D, probe_flat_drv).
process_flag(trap_exit, true).
P1 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P1, $f, "3").
flush().
erlang:port_info(P1).
P2 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P2, $f, "0").
flush().
P3 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P3, $f, "-5").
flush().
P4 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P4, $a, "my_reason").
flush().
P5 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P5, $a, "").
flush().
P6 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P6, $a, "normal").
flush().
P7 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P7, $p, "22").
flush().
P8 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P8, $p, "32").
flush().
P9 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P9, $p, "0").
flush().
P10 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P10, $p, "9999").
flush().
P11 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P11, $e, "").
flush().
P12 = open_port({spawn_driver, "probe_drv"}, [eof]).
port_control(P12, $e, "").
flush().
erlang:port_info(P12, name).
port_close(P12).
flush().
P13 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P13, $x, "0").
flush().
erlang:port_info(P13).
P14 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P14, $x, "22").
flush().
erlang:port_info(P14).
P15 = open_port({spawn_driver, "probe_drv"}, []).
port_control(P15, $W, "").
port_command(P15, "abc").
flush().
P16 = open_port({spawn_driver, "probe_flat_drv"}, []).
port_control(P16, $W, "").
port_command(P16, "abc").
flush().

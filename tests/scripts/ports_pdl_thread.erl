% A driver thread (pthreads) driver_enq's "ab" 20000 times under the port
% data lock while the port's own thread, in controls, dequeues pairs under
% it too: no deadlock, every pair arrives whole, dequeued + left = 40000.
% Then a shorter run, and a run whose thread is still going when the
% port's thread dequeues.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, port_drv).
P = open_port({spawn_driver, "port_drv"}, []).
port_control(P, $P, "").
port_control(P, $T, "20000").
port_control(P, $E, "5000").
port_control(P, $E, "5000").
port_control(P, $J, "").
erlang:port_info(P, queue_size).
port_control(P, $T, "1000").
port_control(P, $J, "").
port_control(P, $T, "2000").
port_control(P, $E, "100").
port_control(P, $J, "").
erlang:port_info(P, queue_size).
port_close(P).
port_control(open_port({spawn_driver, "port_drv"}, []), $K, "").

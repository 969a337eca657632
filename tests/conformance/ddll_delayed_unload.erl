% ERTS: ddll_SUITE:delayed_unload_with_ports, kill_port, dont_kill_port, forced_port_killing, unload_due_to_process_exit
% A driver loaded with {driver_options, [kill_ports]} (load_driver/2) has
% its ports killed (reason driver_unloaded) when it is unloaded; try_unload
% answers {ok, pending_driver}, then the driver is gone. Loaded without
% (load/2), erl_ddll:unload/1 leaves its ports open and working: the
% driver stays until the last one closes (a load with other options fails
% meanwhile: inconsistent). unload_driver/1 kills the ports whatever the
% load options. A process that exits while it alone holds a driver
% loaded with kill_ports takes the driver, and so its ports, with it.
process_flag(trap_exit, true).
D = "@DRIVERS@", ok.
Main = self(), ok.
Has = fun() -> lists:member("cf_lock_drv", element(2, erl_ddll:loaded_drivers())) end, ok.
Exits = fun(N) -> lists:sort([receive {'EXIT', _, R} -> R after 2000 -> timeout end || _ <- lists:seq(1, N)]) end, ok.
erl_ddll:load_driver(D, cf_lock_drv).
P1 = open_port({spawn, cf_lock_drv}, []), P2 = open_port({spawn, cf_lock_drv}, []), ok.
erl_ddll:info(cf_lock_drv, port_count).
erl_ddll:try_unload(cf_lock_drv, []).
Exits(2).
receive after 100 -> ok end, Has().
{erlang:port_info(P1), erlang:port_info(P2)}.
erl_ddll:load(D, cf_lock_drv).
erl_ddll:info(cf_lock_drv, driver_options).
Q = open_port({spawn, cf_lock_drv}, []), ok.
erl_ddll:unload(cf_lock_drv).
receive {'EXIT', _, Why} -> Why after 300 -> none end.
{Has(), port_control(Q, 0, "")}.
erl_ddll:try_load(D, cf_lock_drv, [{driver_options, [kill_ports]}]).
port_close(Q), Exits(1).
receive after 100 -> ok end, Has().
erl_ddll:load(D, cf_lock_drv).
K1 = open_port({spawn, cf_lock_drv}, []), K2 = open_port({spawn, cf_lock_drv}, []), ok.
erl_ddll:unload_driver(cf_lock_drv).
Exits(2).
receive after 100 -> ok end, Has().
erl_ddll:load_driver(D, cf_lock_drv), ok = erl_ddll:unload_driver(cf_lock_drv).
A = spawn(fun() -> erl_ddll:load_driver(D, cf_lock_drv), P = open_port({spawn, cf_lock_drv}, []), unlink(P), port_connect(P, Main), unlink(P), Main ! {port, P}, receive stop -> ok end end), ok.
PA = receive {port, X} -> X after 2000 -> timeout end, erlang:port_info(PA, connected) =:= {connected, Main}.
Ref = monitor(process, A), A ! stop, receive {'DOWN', Ref, process, A, W} -> W after 2000 -> timeout end.
receive after 200 -> ok end, {Has(), erlang:port_info(PA)}.
flush().

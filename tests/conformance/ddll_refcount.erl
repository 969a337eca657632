% ERTS: ddll_SUITE:reference_count, load_and_unload, unload_on_process_exit, no_unload_due_to_process_exit, errors
% erl_ddll counts loads per process: two loads need two unloads; a second
% process's load keeps the driver loaded after the first unloads; a process
% that exits drops its loads; unloading what this process did not load,
% or what is not loaded, fails with the reasons ERTS gives.
D = "@DRIVERS@", ok.
Main = self(), ok.
Has = fun() -> lists:member("cf_lock_drv", element(2, erl_ddll:loaded_drivers())) end, ok.
erl_ddll:load_driver(D, cf_lock_drv).
erl_ddll:load_driver(D, cf_lock_drv).
erl_ddll:info(cf_lock_drv, processes) =:= [{Main, 2}].
A = spawn(fun() -> Main ! {a, erl_ddll:load_driver(D, cf_lock_drv)}, receive stop -> ok end end), receive {a, RA} -> RA after 2000 -> timeout end.
lists:sort(erl_ddll:info(cf_lock_drv, processes)) =:= lists:sort([{Main, 2}, {A, 1}]).
erl_ddll:unload_driver(cf_lock_drv).
erl_ddll:unload_driver(cf_lock_drv).
erl_ddll:unload_driver(cf_lock_drv).
{Has(), erl_ddll:info(cf_lock_drv, processes) =:= [{A, 1}]}.
Ref = monitor(process, A), A ! stop, receive {'DOWN', Ref, process, A, W} -> W after 2000 -> timeout end.
receive after 100 -> ok end, Has().
erl_ddll:unload_driver(cf_lock_drv).
erl_ddll:unload_driver("no_such_drv").
erl_ddll:try_unload(no_such_drv, []).
erl_ddll:load_driver(D, cf_lock_drv).
B = spawn(fun() -> Main ! {b, erl_ddll:unload_driver(cf_lock_drv), erl_ddll:try_unload(cf_lock_drv, [])} end), receive {b, RB1, RB2} -> {RB1, RB2} after 2000 -> timeout end.
erl_ddll:load_driver("/no/such/dir", cf_lock_drv).
erl_ddll:load_driver(D, "cf_lock_drv").
erl_ddll:info(cf_lock_drv, processes) =:= [{Main, 2}].
erl_ddll:try_load(D, cf_lock_drv, []).
erl_ddll:info(cf_lock_drv, port_count).
erl_ddll:try_unload(cf_lock_drv, []).
erl_ddll:try_unload(cf_lock_drv, []).
erl_ddll:try_unload(cf_lock_drv, []).
receive after 100 -> ok end, Has().
flush().

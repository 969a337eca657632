% Driver threads and their synchronisation objects (sys_drv, port_call):
% two threads count under a mutex and wait on a condition variable, one
% returns its result and one leaves with erl_drv_thread_exit from a nested
% call, both joined; tids, names (NULL names read "unknown"), stack sizes
% (default and suggested_stack_size), joining a host thread (einval);
% mutex trylock (ebusy when held, by the same thread too); rwlock try
% semantics from the same and from another thread; thread-specific data
% per thread and key reuse.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, sys_drv).
P = open_port({spawn_driver, "sys_drv"}, []).
erlang:port_call(P, $t, []).
erlang:port_call(P, $t, []).
erlang:port_call(P, $m, []).
erlang:port_call(P, $w, []).
erlang:port_call(P, $s, []).
erlang:port_call(P, $s, []).
port_close(P).

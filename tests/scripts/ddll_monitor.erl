% erl_ddll:monitor/2 and demonitor/1: the messages due at once (a driver
% not loaded, loaded, pending unload, permanent), the DOWN when a pending
% unload ends with the last port (the name then an atom), the UP
% unload_cancelled that a load during the pending unload sends to
% `unloaded` monitors but not to `unloaded_only` ones, demonitor, and the
% badargs.
D = "@BUNDLED@", ok.
Get = fun(R) -> receive {K, R, driver, N, T} -> {K, N, T} after 200 -> none end end, ok.
Get(erl_ddll:monitor(driver, {"echo_drv", unloaded})).
Get(erl_ddll:monitor(driver, {echo_drv, loaded})).
Get(erl_ddll:monitor(driver, {"echo_drv", unloaded_only})).
erl_ddll:load(D, "echo_drv").
Get(erl_ddll:monitor(driver, {"echo_drv", loaded})).
R1 = erl_ddll:monitor(driver, {"echo_drv", unloaded}), ok.
R2 = erl_ddll:monitor(driver, {echo_drv, unloaded_only}), ok.
{Get(R1), Get(R2)}.
P = open_port({spawn, "echo_drv"}, []), ok.
erl_ddll:try_unload("echo_drv", []).
Get(erl_ddll:monitor(driver, {"echo_drv", loaded})).
{Get(R1), Get(R2)}.
R3 = erl_ddll:monitor(driver, {"echo_drv", unloaded}), ok.
erl_ddll:try_load(D, "echo_drv", []).
{Get(R1), Get(R2), Get(R3)}.
erl_ddll:try_unload("echo_drv", []).
port_close(P).
{Get(R1), Get(R2), Get(R3)}.
erl_ddll:load(D, "echo_drv").
R4 = erl_ddll:monitor(driver, {"echo_drv", unloaded}), ok.
erl_ddll:demonitor(R4).
erl_ddll:demonitor(make_ref()).
erl_ddll:unload("echo_drv").
Get(R4).
B = fun(F) -> try F() catch error:E -> E end end, ok.
B(fun() -> erl_ddll:monitor(driver, {"echo_drv", foo}) end).
B(fun() -> erl_ddll:monitor(port, {"echo_drv", loaded}) end).
B(fun() -> erl_ddll:monitor(driver, {42, loaded}) end).
B(fun() -> erl_ddll:monitor(driver, "echo_drv") end).
B(fun() -> erl_ddll:demonitor(foo) end).
flush().

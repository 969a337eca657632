% ERTS: driver_SUITE:async_blast; erl_driver docs (driver_async: jobs with the same key run in order)
% Jobs submitted with one key run, and complete, in submission order;
% two keys interleaved keep their own orders; jobs without a key all run;
% then a blast: 8 ports submit 200 jobs each, every job completes once.
ok = erl_ddll:load_driver("@DRIVERS@", cf_async_drv).
P = open_port({spawn, cf_async_drv}, []).
Collect = fun(Port, N) -> [receive {Port, done, K, S, R} -> {K, S, R} after 5000 -> timeout end || _ <- lists:seq(1, N)] end, ok.
[port_control(P, $k, [1, 60]), port_control(P, $k, [2, 60]), port_control(P, $k, [1, 60])].
All = Collect(P, 180), ok.
K1 = [{S, R} || {1, S, R} <- All], K2 = [{S, R} || {2, S, R} <- All], ok.
{length(K1), length(K2)}.
[S || {S, _} <- K1] =:= lists:seq(1, 60) ++ lists:seq(1, 60).
[R || {_, R} <- K1] =:= lists:seq(1, 120).
[S || {S, _} <- K2] =:= lists:seq(1, 60).
[R || {_, R} <- K2] =:= lists:seq(1, 60).
port_control(P, $k, [255, 50]), lists:sort([S || {255, S, _} <- Collect(P, 50)]) =:= lists:seq(1, 50).
Ports = [open_port({spawn, cf_async_drv}, []) || _ <- lists:seq(1, 8)], ok.
[port_control(Q, $k, [7, 200]) || Q <- Ports].
lists:usort([length(Collect(Q, 200)) || Q <- Ports]).
[port_close(Q) || Q <- [P | Ports]], ok.
receive M -> M after 100 -> none end.

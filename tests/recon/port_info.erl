% recon:port_info/1,2 and recon:port_types/0 under porthost, against real
% recon under ERTS (tests/recon.rs). memory is machine-dependent: only
% its shape is printed.
erl_ddll:load_driver("@BUNDLED@", echo_drv).
P = open_port({spawn_driver, "echo_drv"}, [binary]).
port_command(P, "hello").
receive {P, {data, D}} -> D after 1000 -> timeout end.
Shape = fun(Info) -> [{G, [case I of {K, _} -> K; Other -> Other end || I <- L]} || {G, L} <- Info] end, ok.
Shape(recon:port_info(P)).
recon:port_info(P, meta).
recon:port_info(P, signals).
recon:port_info(P, io).
{memory_used, [{memory, M}, {queue_size, 0}]} = recon:port_info(P, memory_used), is_integer(M).
recon:port_info(P, specific).
recon:port_info(P, [input, output, name]).
recon:port_info(P, connected).
register(echo, P).
recon:port_info(echo, meta).
recon:port_info(echo, io).
Q = open_port({spawn, "cat"}, [binary]).
port_command(Q, <<"abcdefgh">>).
receive {Q, {data, D2}} -> D2 after 2000 -> timeout end.
recon:port_info(Q, io).
{meta, [{id, _}, {name, "cat"}, {os_pid, OsPid}]} = recon:port_info(Q, meta), is_integer(OsPid).
Shape(recon:port_info(Q)).
P2 = open_port({spawn_driver, "echo_drv"}, []).
[T || {N, _} = T <- recon:port_types(), N =:= "echo_drv" orelse N =:= "cat"].
port_close(P2).
[T || {N, _} = T <- recon:port_types(), N =:= "echo_drv" orelse N =:= "cat"].
port_close(P).
recon:port_info(P, io).
recon:port_info(P, meta).
recon:port_info(P, no_such_item).

% ERL_DRV_FLAG_USE_INIT_ACK: open_port returns when the driver acks, from
% a timeout or from ready_async; the port's data is then the acked value.
% Output sent before the ack arrives. An ack with ERL_DRV_ERROR_* makes
% open_port raise (einval, badarg, the errno's name) after unlinking the
% opener (no exit message even when trapping) and closes the port: stop
% gets the data start returned. A start returning an error raises without
% stop. A port that exits before acking is what open_port returns.
% (ERTS 25 never returns from open_port if the driver acks from start
% itself, so no script does that.)
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, init_ack_drv).
process_flag(trap_exit, true).
T = open_port({spawn_driver, "init_ack_drv timer ok"}, []).
port_control(T, $w, "").
port_control(T, $K, "").
flush().
A = open_port({spawn_driver, "init_ack_drv async ok"}, []).
port_control(A, $w, "").
port_control(A, $K, "").
case catch open_port({spawn_driver, "init_ack_drv timer badarg"}, []) of {'EXIT', {E1, _}} -> E1 end.
port_control(T, $K, "").
case catch open_port({spawn_driver, "init_ack_drv async errno"}, []) of {'EXIT', {E2, _}} -> E2 end.
port_control(T, $K, "").
case catch open_port({spawn_driver, "init_ack_drv timer general"}, []) of {'EXIT', {E3, _}} -> E3 end.
port_control(T, $K, "").
case catch open_port({spawn_driver, "init_ack_drv async badarg"}, []) of {'EXIT', {E4, _}} -> E4 end.
port_control(T, $K, "").
case catch open_port({spawn_driver, "init_ack_drv fail general"}, []) of {'EXIT', {E5, _}} -> E5 end.
case catch open_port({spawn_driver, "init_ack_drv fail errno"}, []) of {'EXIT', {E6, _}} -> E6 end.
case catch open_port({spawn_driver, "init_ack_drv fail badarg"}, []) of {'EXIT', {E7, _}} -> E7 end.
port_control(T, $K, "").
receive after 50 -> ok end.
flush().
X = open_port({spawn_driver, "init_ack_drv die ok"}, []).
is_port(X).
erlang:port_info(X).
flush().
erl_ddll:info(init_ack_drv, port_count).
port_close(T).
port_close(A).
port_control(open_port({spawn_driver, "init_ack_drv timer ok"}, []), $K, "").

% open_port's {busy_limits_msgq, {Low, High} | disabled}: the limits the
% driver reads (set as erl_drv_busy_msgq_limits sets them, so {10, 5} gives
% 5, 5); values out of 1..2^64-2 and other shapes are badarg; so are
% limits (but not disabled) on a driver with ERL_DRV_FLAG_NO_BUSY_MSGQ, and
% busy_limits_port on any driver port.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, port_drv).
erl_ddll:load_driver(D, soft_busy_drv).
P1 = open_port({spawn_driver, "port_drv"}, [{busy_limits_msgq, {1000, 2000}}]).
port_control(P1, $l, "r r").
P2 = open_port({spawn_driver, "port_drv"}, [{busy_limits_msgq, disabled}]).
port_control(P2, $l, "r r").
P3 = open_port({spawn_driver, "port_drv"}, [binary, {busy_limits_msgq, {10, 5}}]).
port_control(P3, $l, "r r").
P4 = open_port({spawn_driver, "port_drv"}, [{busy_limits_msgq, {1, 1}}, {busy_limits_msgq, {7, 9}}]).
port_control(P4, $l, "r r").
P5 = open_port({spawn_driver, "port_drv"}, [{busy_limits_msgq, {5, 18446744073709551614}}]).
port_control(P5, $l, "r r").
case catch open_port({spawn_driver, "port_drv"}, [{busy_limits_msgq, {0, 5}}]) of {'EXIT', {E1, _}} -> E1 end.
case catch open_port({spawn_driver, "port_drv"}, [{busy_limits_msgq, {5, 0}}]) of {'EXIT', {E2, _}} -> E2 end.
case catch open_port({spawn_driver, "port_drv"}, [{busy_limits_msgq, {-1, 5}}]) of {'EXIT', {E3, _}} -> E3 end.
case catch open_port({spawn_driver, "port_drv"}, [{busy_limits_msgq, {a, 5}}]) of {'EXIT', {E4, _}} -> E4 end.
case catch open_port({spawn_driver, "port_drv"}, [{busy_limits_msgq, {5, 18446744073709551615}}]) of {'EXIT', {E5, _}} -> E5 end.
case catch open_port({spawn_driver, "port_drv"}, [{busy_limits_msgq, enabled}]) of {'EXIT', {E6, _}} -> E6 end.
case catch open_port({spawn_driver, "port_drv"}, [{busy_limits_msgq, {1, 2, 3}}]) of {'EXIT', {E7, _}} -> E7 end.
case catch open_port({spawn_driver, "port_drv"}, [{busy_limits_port, {1000, 2000}}]) of {'EXIT', {E8, _}} -> E8 end.
case catch open_port({spawn_driver, "port_drv"}, [{busy_limits_port, disabled}]) of {'EXIT', {E9, _}} -> E9 end.
case catch open_port({spawn_driver, "soft_busy_drv"}, [{busy_limits_msgq, {1000, 2000}}]) of {'EXIT', {E10, _}} -> E10 end.
S = open_port({spawn_driver, "soft_busy_drv"}, [{busy_limits_msgq, disabled}]).
port_control(S, $l, "r r").
erl_ddll:info(port_drv, port_count).
erl_ddll:info(soft_busy_drv, port_count).

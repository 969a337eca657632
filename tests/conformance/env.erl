% ERTS: driver_SUITE:env
% erl_drv_getenv and erl_drv_putenv: a variable the host inherited, one
% that is not set, one the driver sets (and sees), a buffer too small (1,
% and the size needed), an empty value, a value replaced.
ok = erl_ddll:load_driver("@DRIVERS@", cf_sys_drv).
P = open_port({spawn, cf_sys_drv}, []).
port_control(P, $g, "CF_NO_SUCH_VARIABLE").
hd(port_control(P, $g, "PATH")).
port_control(P, $p, "CF_VAR=hello world").
port_control(P, $g, "CF_VAR").
port_control(P, $G, "CF_VAR").
port_control(P, $p, "CF_EMPTY=").
port_control(P, $g, "CF_EMPTY").
port_control(P, $G, "CF_EMPTY").
port_control(P, $p, "CF_VAR=x").
port_control(P, $g, "CF_VAR").
port_close(P).

% ERTS: driver_SUITE:zero_extended_marker_garb_drv, invalid_extended_marker_drv, larger_major_vsn_drv, larger_minor_vsn_drv, smaller_major_vsn_drv, smaller_minor_vsn_drv; ddll_SUITE:errors (no driver_init)
% Each driver's entry carries a different marker or version; erl_ddll
% refuses the incompatible ones with driver_incorrect_version, a library
% without driver_init with no_driver_init. A driver that loads opens ports.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, vsn_zero_marker_garb_drv).
erl_ddll:load_driver(D, vsn_invalid_marker_drv).
erl_ddll:load_driver(D, vsn_larger_major_drv).
erl_ddll:load_driver(D, vsn_larger_minor_drv).
erl_ddll:load_driver(D, vsn_smaller_major_drv).
erl_ddll:load_driver(D, vsn_smaller_minor_drv).
erl_ddll:load_driver(D, vsn_two_major_drv).
lists:sort([N || N <- element(2, erl_ddll:loaded_drivers()), lists:sublist(N, 4) =:= "vsn_"]).
P1 = open_port({spawn, vsn_smaller_minor_drv}, []), port_control(P1, 0, "").
P2 = open_port({spawn, vsn_smaller_major_drv}, []), port_control(P2, 0, "").
port_close(P1), port_close(P2).
case catch open_port({spawn_driver, vsn_larger_minor_drv}, []) of {'EXIT', {R, _}} -> R; V -> V end.
erl_ddll:load_driver("@TDRIVERS@", no_init_drv).
erl_ddll:format_error(driver_incorrect_version).
erl_ddll:unload_driver(vsn_smaller_minor_drv).
erl_ddll:unload_driver(vsn_smaller_major_drv).
erl_ddll:unload_driver(vsn_larger_major_drv).

% erl_ddll load errors for every kind of bad driver, the {open_error, N}
% numbering (a VM-wide table of dlerror texts starting at -10; the same text
% reuses its number; the "<path>: " prefix is stripped) and format_error's
% texts. no_init_drv comes last among the loads because its failed dlsym
% calls enter two texts that contain the absolute path into that table.
% Ends with format_error of a term it does not know: badarg.
D = "@DRIVERS@", ok.
{error, E1} = erl_ddll:load_driver(D, undef_sym_drv).
erl_ddll:format_error(E1).
{error, E2} = erl_ddll:load_driver(D, not_so_drv).
erl_ddll:format_error(E2).
{error, E3} = erl_ddll:load_driver(D, no_such_drv).
erl_ddll:format_error(E3).
erl_ddll:load(D, undef_sym_drv).
erl_ddll:load(D, "no_such_drv").
erl_ddll:load_driver(D, bad_marker_drv).
erl_ddll:load_driver(D, bad_major_drv).
erl_ddll:load_driver(D, old_major_drv).
erl_ddll:load_driver(D, bad_minor_drv).
erl_ddll:load_driver(D, wrong_name_drv).
erl_ddll:load_driver(D, init_fail_drv).
erl_ddll:load_driver(D, null_entry_drv).
erl_ddll:load(D, init_fail_drv).
erl_ddll:load_driver(D, no_init_drv).
erl_ddll:load_driver(D, not_so_drv).
erl_ddll:try_load(D, wrong_name_drv, []).
{error, E4} = erl_ddll:load_driver(D, no_such_drv_either).
erl_ddll:format_error(E4).
erl_ddll:format_error({open_error, -100}).
erl_ddll:format_error({open_error, -1}).
erl_ddll:format_error({open_error, -2}).
erl_ddll:format_error({open_error, -3}).
erl_ddll:format_error({open_error, -4}).
erl_ddll:format_error({open_error, -5}).
erl_ddll:format_error({open_error, -6}).
erl_ddll:format_error({open_error, -7}).
erl_ddll:format_error({open_error, -8}).
erl_ddll:format_error({open_error, -9}).
erl_ddll:format_error({open_error, 0}).
erl_ddll:format_error({open_error, 1}).
erl_ddll:format_error(linked_in_driver).
erl_ddll:format_error(inconsistent).
erl_ddll:format_error(permanent).
erl_ddll:format_error(not_loaded).
erl_ddll:format_error(not_loaded_by_this_process).
erl_ddll:format_error(not_pending).
erl_ddll:format_error(already_loaded).
erl_ddll:format_error(bad_driver_name).
erl_ddll:format_error(driver_init_failed).
erl_ddll:format_error(driver_incorrect_version).
erl_ddll:format_error(no_driver_init).
lists:member("undef_sym_drv", element(2, erl_ddll:loaded_drivers())).
erl_ddll:info().
erl_ddll:format_error(unloading).

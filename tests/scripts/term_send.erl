% erl_drv_send_term and driver_send_term (deprecated): to driver_caller and
% driver_connected the term arrives as it is and the return value is 1; to a
% pid handle of no live process, or to a receiver that is no pid at all
% (driver_term_nil), nothing is sent and the return value is 0 (a BINARY
% part then keeps no reference: refc 1). A port handle of no open port, or
% an atom handle given as the port, is -1 for erl_drv_output_term and
% erl_drv_send_term alike, whatever the spec.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, term_drv).
P = open_port({spawn_driver, "term_drv"}, []).
list_to_atom(port_control(P, $A, "s")).
list_to_atom(port_control(P, $A, "S")).
list_to_atom(port_control(P, $A, "c")).
list_to_atom(port_control(P, $L, "s")).
list_to_atom(port_control(P, $b, "s")).
flush().
list_to_atom(port_control(P, $A, "d")).
list_to_atom(port_control(P, $A, "D")).
list_to_atom(port_control(P, $b, "d")).
list_to_atom(port_control(P, $A, "n")).
flush().
list_to_atom(port_control(P, $A, "p")).
list_to_atom(port_control(P, $A, "P")).
list_to_atom(port_control(P, $A, "a")).
list_to_atom(port_control(P, $E, "pa")).
flush().
[list_to_atom(port_control(P, $N, [T])) || T <- "oOsScdDnpPa"].
flush().

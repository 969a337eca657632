% Malformed term specs: erl_drv_output_term returns -1 and sends nothing
% (an unknown tag or tag 0, an empty spec, a negative len, two terms left,
% a TUPLE/LIST/MAP/STRING_CONS that underflows, LIST 0, an argument missing
% at the end, ATOM with a non-atom (5, a pid, driver_term_nil), PID with an
% atom, PORT with a pid, BINARY NULL or past orig_size, STRING NULL (even
% for length 0) or with a negative length, BUF2BINARY NULL with a length,
% EXT2TERM NULL, of length 0 or truncated, a negative TUPLE arity or MAP
% size, a whole term followed by a bad word). The BINARY cases report
% R*10 - refc: -11 is -1 with the driver binary's refc back at 1.
% A NaN or infinite FLOAT and a MAP with a key twice (small or 40 pairs) are
% -1 too; sent to a dead receiver those give 0 (ERTS finds them only while
% building for a live one), while the others stay -1.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, term_drv).
P = open_port({spawn_driver, "term_drv"}, []).
[{list_to_atom([W]), list_to_atom(port_control(P, $E, [$o, W]))} || W <- "abcdefghijklmnopqrstuvwxyzTBC"].
[{list_to_atom([W]), list_to_atom(port_control(P, $E, [$o, W]))} || W <- "zZNI"].
[{list_to_atom([W]), list_to_atom(port_control(P, $f, [$o, W]))} || W <- "nim"].
[{list_to_atom([W]), list_to_atom(port_control(P, $E, [$O, W]))} || W <- "adjz"].
[{list_to_atom([W]), list_to_atom(port_control(P, $E, [$s, W]))} || W <- "adjz"].
flush().
[{list_to_atom([W]), list_to_atom(port_control(P, $E, [$d, W]))} || W <- "abcdefghijklmnopqrstuvwxyzTBC"].
[{list_to_atom([W]), list_to_atom(port_control(P, $E, [$d, W]))} || W <- "zZNI"].
[{list_to_atom([W]), list_to_atom(port_control(P, $E, [$D, W]))} || W <- "azN"].
list_to_atom(port_control(P, $f, "dn")).
list_to_atom(port_control(P, $e, [$o, 97, 1])).
list_to_atom(port_control(P, $e, [$o, 131])).
list_to_atom(port_control(P, $e, [$o])).
flush().
list_to_atom(port_control(P, $A, "o")).
flush().

% erlang:port_info/1 (items and order; registered_name first when the port
% is registered) and port_info/2 for every item ERTS 25 knows: the value is
% {Item, Value}, except registered_name of an unregistered port, which is [].
% input counts bytes the driver sent to Erlang, output bytes given to
% port_command (control data counts in neither); queue_size is the driver
% queue's size. memory is machine-dependent, so only its shape is printed.
% A closed port gives undefined. Ends with an unknown item: badarg.
D = "@DRIVERS@", ok.
erl_ddll:load_driver(D, probe_drv).
P = open_port({spawn_driver, "probe_drv"}, []).
erlang:port_info(P).
erlang:port_info(P, name).
erlang:port_info(P, links).
erlang:port_info(P, id).
erlang:port_info(P, connected).
erlang:port_info(P, input).
erlang:port_info(P, output).
erlang:port_info(P, os_pid).
erlang:port_info(P, queue_size).
erlang:port_info(P, monitors).
erlang:port_info(P, monitored_by).
erlang:port_info(P, parallelism).
erlang:port_info(P, locking).
erlang:port_info(P, registered_name).
{memory, Mem} = erlang:port_info(P, memory), is_integer(Mem).
register(probe_port, P).
erlang:port_info(P, registered_name).
erlang:port_info(P).
port_command(P, "abc").
port_command(P, <<"de">>).
flush().
erlang:port_info(P, input).
erlang:port_info(P, output).
port_control(P, $q, "xyz").
erlang:port_info(P, queue_size).
erlang:port_info(P, output).
port_control(P, $o, "12345").
flush().
erlang:port_info(P, input).
port_control(P, $d, "1").
erlang:port_info(P, queue_size).
PB = open_port({spawn_driver, "probe_drv"}, [binary]).
erlang:port_info(PB).
port_close(P).
erlang:port_info(P).
erlang:port_info(P, name).
erlang:port_info(PB, no_such_item).

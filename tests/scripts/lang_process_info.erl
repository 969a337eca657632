% process_info/2 for message_queue_len, links, monitors and status (one
% item or a list), of this process, of a spawned one and of a dead one;
% erlang:system_info(port_count) as ports open and close (as a difference:
% ERTS counts its own ports too).
process_info(self(), message_queue_len).
self() ! a, self() ! b, process_info(self(), message_queue_len).
flush().
process_info(self(), links).
process_info(self(), monitors).
process_info(self(), status).
process_info(self(), [message_queue_len, status]).
try process_info(self(), bad) catch C1:R1 -> {C1, R1} end.
try process_info(x, links) catch C2:R2 -> {C2, R2} end.
{Dead, DeadRef} = spawn_monitor(fun() -> ok end), receive {'DOWN', DeadRef, _, _, _} -> ok end, process_info(Dead, links).
Self = self(), Pid = spawn_link(fun() -> receive stop -> ok end end), ok.
{links, [Pid]} = process_info(self(), links), linked.
{links, [Self]} = process_info(Pid, links), linked_back.
process_info(Pid, status).
Ref = erlang:monitor(process, Pid), ok.
{monitors, [{process, Pid}]} = process_info(self(), monitors), monitoring.
Pid ! stop, receive {'DOWN', Ref, process, Pid, Why} -> Why after 1000 -> timeout end.
N0 = erlang:system_info(port_count), ok.
erl_ddll:load_driver("@BUNDLED@", echo_drv).
P = open_port({spawn_driver, "echo_drv"}, []).
erlang:system_info(port_count) - N0.
{links, [P]} = process_info(self(), links), port_linked.
port_close(P).
erlang:system_info(port_count) - N0.

% spawn_link/1 without trapping exits: a child's normal end does nothing;
% a child that exits with another reason takes the main process with it
% (the script ends with error: {exit,Reason}, status 1), while it waits in
% receive.
P1 = spawn_link(fun() -> receive go -> ok end end), ok.
M1 = monitor(process, P1), P1 ! go, receive {'DOWN', M1, process, P1, R1} -> R1 after 1000 -> timeout end.
is_process_alive(self()).
P2 = spawn_link(fun() -> receive go -> exit(crashed) end end).
P2 ! go, receive never -> ok after 5000 -> still_alive end.
not_reached.

% A host with a few busy ports, to watch with `porthost top`:
%   porthost --control /tmp/porthost.sock run examples/top_demo.erl &
%   porthost top --connect /tmp/porthost.sock
% Three echo_drv ports get 64, 512 and 4,096-byte commands in a loop, a
% `cat` echoes lines, and one echo port stays idle; it runs for 60 s.
Echo = fun(Size) -> P = open_port({spawn_driver, "echo_drv"}, [binary]), {P, list_to_binary(lists:duplicate(Size, $x))} end, ok.
Busy = [Echo(64), Echo(512), Echo(4096)], ok.
Idle = open_port({spawn_driver, "echo_drv"}, []).
Cat = open_port({spawn, "cat"}, [binary, {line, 80}]).
Loop = fun L(0) -> ok;
           L(N) -> [port_command(P, D) || {P, D} <- Busy],
                   port_command(Cat, <<"a line of text\n">>),
                   flush_all,
                   receive after 10 -> ok end,
                   [receive {_, {data, _}} -> ok after 0 -> ok end || _ <- lists:seq(1, 4)],
                   L(N - 1)
       end, ok.
Loop(6000).

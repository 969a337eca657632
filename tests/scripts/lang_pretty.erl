% ~p lays terms out as io_lib_pretty does: one line when the term fits in
% the rest of the line (79 characters), otherwise elements one after
% another with a line break before one that does not fit, compound
% elements each ending their line, tagged tuples indented under their
% first element (by 4 when the tag is long), maps with ` => `, binaries
% broken between bytes, strings never broken, improper tails, and the
% column where ~p starts.
io:format("~p~n", [lists:seq(1, 40)]).
io:format("x~p~n", [lists:seq(1, 40)]).
io:format("~p~n", [[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, b]]).
io:format("~p~n", [[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, b]]).
io:format("~p~n", [[{a, 1}, {b, 2}, {c, 3}, {dddddddddddddddddddddd, 4}, {eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee, 5}]]).
io:format("~p~n", [{tag, [{a, 1}, {b, 2}, {c, 3}, {dddddddddddddddddddddd, 4}, {eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee, 5}]}]).
io:format("~p~n", [{taaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaag, [{a, 1}, {b, 2}, {c, 3}, {dddddddddddddddddddddd, 4}, {eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee, 5}]}]).
io:format("~p~n", [#{a => 1, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb => {1, 2, 3}, c => [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]}]).
io:format("~p~n", [#{kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk => {vvvvvvvvvvvvvvvvvvvvvvv, wwwwwwwwwwwwwwwwwwwwwwwwww}, b => 2}]).
io:format("~p~n", [list_to_binary(lists:seq(1, 100))]).
io:format("abc ~p~n", [list_to_binary(lists:seq(1, 79))]).
io:format("~p~n", [[list_to_binary(lists:seq(100, 160))]]).
io:format("~p~n", [[[[[list_to_binary(lists:duplicate(40, 150))]]]]]).
io:format("~p~n", [#{list_to_binary(lists:duplicate(40, 150)) => [[[a]]]}]).
io:format("~p~n", [[<<"hello world this is a binary">>, "and a string that is long enough", 'an atom']]).
io:format("~p~n", [lists:seq(1, 30) ++ x]).
io:format("~p~n", [[{aaaaaaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, ccccccccccccccccccc} | {dddddddddddddddddddddddddddddddddddddddd, eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee}]]).
io:format("~p~n", [{{a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v, w, x, y, z, a, b, c, d, e, f, g, h, i}, [1, 2, 3], "a string here", <<1, 2, 3>>}]).
io:format("~p~n", [{ok, [{port, 1, [{name, "echo_drv"}, {links, [owner]}, {id, 1}, {input, 0}, {output, 0}, {os_pid, undefined}]}]}]).
io:format("~p~n", [{[{a, 1}, {b, 2}], [{aaaaaaaaaaaaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb}, {c, d}], {eeeeeeeeeeeeeeeeeeeee, fffffffff}}]).
io:format("~30p|~n", [{aaaaaaaaaa, bbbbbbbbbbbbb, cccccccccccccc}]).
io:format("prefix text: ~p and ~p~n", [{error, {badarg, [{lists, nth, [0, [a, b, c]], [{file, "lists.erl"}, {line, 170}]}]}}, done]).
io:format("~p~n", [[#{data => <<84, 166, 224, 64, 249, 108, 61, 220, 209, 60, 151, 142>>, "a longer string with spaces" => 1.5, "tab\there" => 82246, "x" => <<"some binary text">>}]]).
lists:flatten(io_lib:format("~p", [lists:seq(1, 30)])).

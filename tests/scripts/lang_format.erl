% io:format/1,2,3, io:fwrite and io_lib:format/2 with OTP's control
% sequences, field widths, precisions, padding characters and
% left-justification; the text goes to standard output in order with the
% value lines.
io:format("hello~n").
io:format("~w ~s ~p~n", [atom, "string", "string"]).
io:fwrite("x~n").
io:format("no newline").
io:format(<<"binary format ~w~n">>, [1]).
io:format(atom_format, []).
io:format(standard_io, "to ~s~n", [standard_io]).
io:format("~5w|~-5w|~.3w|~3w|~.2w|~5.2w|~n", [a, b, c, abcdef, abc, abc]).
io:format("~10.3f|~-10.2f|~10.2.0f|~e|~.2e|~g|~.3g~n", [3.14159, 3.14159, 3.14159, 2.5, -1234.5, 0.1, 0.5]).
io:format("~f ~f ~e ~g ~g ~g~n", [-0.0, 1.0e20, 0.0, 0.0, 123456.0, 1.0e-5]).
io:format("~.1f ~.2f ~.1f ~.1f ~.40f~n", [0.25, 0.125, 0.05, 0.15, 0.1]).
io:format("~s|~3s|~.3s|~10.3s|~-6s|~6s|~n", ["abc", "abcdef", "abcdef", "abcdef", ab, <<"bin">>]).
io:format("~s ~s ~ts~n", [[<<"a">>, "b", $c], [$x, [] | <<"y">>], [256]]).
io:format("~b ~.16b ~.16B ~.2B ~8.2.0B ~x ~.16X ~.16# ~# ~.16+~n", [255, 255, -255, 5, 5, 255, "0x", 255, "0x", 255, 255, 255]).
io:format("~c~5c|~5.2c|~tc~c~n", [$a, $b, $a, 300, 300]).
io:format("~i~w~~~n", [ignored, shown]).
io:format("~*w|~-*w|~.*f|~*.*.*w|~n", [5, a, 5, a, 2, 1.5, 6, 3, $_, ab]).
io:format("~p ~p ~p ~p ~p ~p~n", [[], "a\nb\"c\\", [1, 2, 3], <<"abc">>, <<1, 2>>, <<>>]).
io:format("~p ~p ~p ~p ~p ~p~n", [[97 | b], {}, 'A b', [7], [9, 97], [27, 97]]).
io:format("~p ~p ~p ~p~n", [#{}, #{a => "x"}, <<1:3>>, <<"ab", 1:3>>]).
io:format("~w ~w ~p~n", [#{a => "x"}, <<"abc">>, 1.5]).
io:format("~lp ~tp~n", [["abc", <<"abc">>], [$a, 300]]).
io:format("~s~n", [[233]]).
io:format("~p~n", [[233]]).
io:format("~ts~n", [[300]]).
io_lib:format("hello ~w x~s", [a, "bc"]).
io_lib:format("~10.3f|~e|~g", [3.14159, 2.5, 0.1]).
io_lib:format("~~~n~c~5c", [$a, $b]).
lists:flatten(io_lib:format("~p", [{a, [1, 2]}])).
io:put_chars("put_chars\n").
io:nl().

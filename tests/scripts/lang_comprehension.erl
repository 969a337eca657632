% List and binary comprehensions: generators, filters (a guard-like filter
% that is not a boolean skips; any other non-boolean filter is an error),
% several generators, patterns that skip elements that do not match,
% binary generators (<=) whose last bits that do not fill a pattern are
% dropped, and their errors caught with try.
[X * 2 || X <- [1, 2, 3]].
[X || X <- [1, 2, 3, 4, 5, 6], X rem 2 =:= 0].
[{X, Y} || X <- [1, 2], Y <- [a, b]].
[{X, Y} || X <- [1, 2, 3], Y <- [X, X + 1], X + Y > 3].
[X || {X, 1} <- [{a, 1}, {b, 2}, c, {d, 1}]].
[X || X <- [1, 2, 3], X > 1, X].
[H || [H | _] <- ["ab", [], "cd"]].
[X || X <- []].
<< <<X>> || X <- [1, 2, 3] >>.
<< <<X:4>> || <<X:4>> <= <<1, 2>> >>.
<< <<(X + 1)>> || <<X>> <= <<"abc">> >>.
<< <<X/binary, ",">> || X <- [<<"a">>, <<"b">>] >>.
[X || <<X:3>> <= <<1, 2>>].
[{X, Y} || <<X:4, Y:4>> <= <<16#12, 16#34>>, Y > 2].
[X || <<1, X>> <= <<1, 2, 3, 4, 1, 5>>].
[X || <<X:16>> <= <<1, 2, 3>>].
<< <<X>> || X <- [1], X >>.
<< <<X:1>> || X <- [1, 0, 1] >>.
[[X || X <- L] || L <- [[1], [2, 3]]].
length([X || X <- lists:seq(1, 1000), X rem 7 =:= 0]).
try [X || X <- a] catch error:E1 -> E1 end.
try [X || <<X>> <= a] catch error:E2 -> E2 end.
try << X || X <- [1] >> catch error:E3 -> E3 end.
try [X || X <- [1, 2], X + 1] catch error:E4 -> E4 end.

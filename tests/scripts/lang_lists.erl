% The lists functions a test uses, with OTP 25's results and errors
% (function_clause where lists.erl has no clause, {case_clause, V} when a
% predicate answers a non-boolean, badarg from the BIFs).
T = fun(F) -> try F() catch C:R -> {C, R} end end, ok.
L = [{b, 2}, {a, 1}, {c, 3}, {a, 0}], ok.
T(fun() -> lists:keysort(1, L) end).
T(fun() -> lists:keysort(2, L) end).
T(fun() -> lists:keysort(0, L) end).
T(fun() -> lists:keysort(1, [a]) end).
T(fun() -> lists:keysort(3, L) end).
T(fun() -> lists:keysort(1, [{a}]) end).
T(fun() -> lists:keysort(1, x) end).
T(fun() -> lists:keydelete(a, 1, L) end).
T(fun() -> lists:keydelete(z, 1, L) end).
T(fun() -> lists:keydelete(a, 0, L) end).
T(fun() -> lists:keydelete(a, 1, [x|y]) end).
T(fun() -> lists:keystore(a, 1, L, {a, 9}) end).
T(fun() -> lists:keystore(z, 1, L, {z, 9}) end).
T(fun() -> lists:keystore(a, 1, L, x) end).
T(fun() -> lists:keyreplace(a, 1, L, {a, 9}) end).
T(fun() -> lists:keyreplace(z, 1, L, {z, 9}) end).
T(fun() -> lists:keyreplace(a, 1, L, x) end).
T(fun() -> lists:keytake(a, 1, L) end).
T(fun() -> lists:keytake(z, 1, L) end).
T(fun() -> lists:keyfind(1.0, 2, [{a,1}]) end).
T(fun() -> lists:keymember(a, 0, L) end).
T(fun() -> lists:keyfind(a, 1, x) end).
T(fun() -> lists:unzip([{1,a},{2,b}]) end).
T(fun() -> lists:unzip([{1,a},x]) end).
T(fun() -> lists:unzip3([{1,a,x}]) end).
T(fun() -> lists:zip([1,2],[a]) end).
T(fun() -> lists:zip3([1],[2],[3]) end).
T(fun() -> lists:partition(fun(X) -> X > 1 end, [1,2,3]) end).
T(fun() -> lists:partition(fun(X) -> X end, [1]) end).
T(fun() -> lists:mapfoldl(fun(X, A) -> {X*2, A+X} end, 0, [1,2,3]) end).
T(fun() -> lists:mapfoldr(fun(X, A) -> {X*2, [X|A]} end, [], [1,2,3]) end).
T(fun() -> lists:filtermap(fun(X) when X > 2 -> {true, X*10}; (X) -> X rem 2 =:= 0 end, [1,2,3,4]) end).
T(fun() -> lists:filtermap(fun(_) -> maybe end, [1]) end).
T(fun() -> lists:dropwhile(fun(X) -> X < 3 end, [1,2,3,4,1]) end).
T(fun() -> lists:takewhile(fun(X) -> X < 3 end, [1,2,3,4,1]) end).
T(fun() -> lists:splitwith(fun(X) -> X < 3 end, [1,2,3,4,1]) end).
T(fun() -> lists:dropwhile(fun(X) -> X end, [1]) end).
T(fun() -> lists:takewhile(fun(X) -> X end, [1]) end).
T(fun() -> lists:concat([a, "b", 1, 2.5, <<"x">>]) end).
T(fun() -> lists:concat([{a}]) end).
T(fun() -> lists:join(x, [1,2,3]) end).
T(fun() -> lists:join(x, []) end).
T(fun() -> lists:join(x, a) end).
T(fun() -> lists:sort(fun(A, B) -> A >= B end, [3,1,2]) end).
T(fun() -> lists:sort(fun(A, _) -> A end, [3,1,2]) end).
T(fun() -> lists:usort(fun(A, B) -> A >= B end, [3,1,2,3]) end).
T(fun() -> lists:subtract([1,2,3,2], [2]) end).
T(fun() -> lists:delete(2, [1,2,3,2]) end).
T(fun() -> lists:sublist([1,2,3], 5) end).
T(fun() -> lists:sublist([1,2,3], 2, 5) end).
T(fun() -> lists:sublist([1,2,3], 5, 1) end).
T(fun() -> lists:sublist([1,2,3], 4, 1) end).
T(fun() -> lists:sublist([1,2,3], 0, 1) end).
T(fun() -> lists:nth(4, [1,2,3]) end).
T(fun() -> lists:nthtail(4, [1,2,3]) end).
T(fun() -> lists:nthtail(3, [1,2,3]) end).
T(fun() -> lists:split(4, [1,2,3]) end).
T(fun() -> lists:split(-1, [1,2,3]) end).
T(fun() -> lists:last([]) end).
T(fun() -> lists:sum([1, 2.5]) end).
T(fun() -> lists:sum([a]) end).
T(fun() -> lists:max([]) end).
T(fun() -> lists:seq(5, 1) end).
T(fun() -> lists:seq(5, 4) end).
T(fun() -> lists:seq(1, 10, 3) end).
T(fun() -> lists:seq(10, 1, -3) end).
T(fun() -> lists:seq(1, 2, 0) end).
T(fun() -> lists:seq(a, 2) end).
T(fun() -> lists:flatten([1,[2,[3]],[]]) end).
T(fun() -> lists:flatten([1|2]) end).
T(fun() -> lists:append([[1],[2,3]]) end).
T(fun() -> lists:append([1], 2) end).
T(fun() -> lists:duplicate(3, x) end).
T(fun() -> lists:duplicate(-1, x) end).
T(fun() -> lists:member(a, [b|c]) end).
T(fun() -> lists:reverse([1,2], [3]) end).
T(fun() -> lists:reverse(a) end).
T(fun() -> lists:uniq([3,1,3,2,1]) end).
T(fun() -> lists:enumerate([a,b]) end).
T(fun() -> lists:zipwith(fun(X, Y) -> X + Y end, [1,2], [3,4]) end).
T(fun() -> lists:flatmap(fun(X) -> [X, X] end, [1,2]) end).
T(fun() -> lists:search(fun(X) -> X > 1 end, [1,2,3]) end).
T(fun() -> lists:search(fun(X) -> X > 5 end, [1]) end).
T(fun() -> lists:foldl(fun(X, A) -> X + A end, 0, [1,2,3]) end).
T(fun() -> lists:foreach(fun(X) -> X end, [1]) end).
T(fun() -> lists:max([1, 2.0, 2]) end).
T(fun() -> lists:min([1, 1.0]) end).
T(fun() -> lists:usort([1, 1.0, 2]) end).
T(fun() -> lists:sort([b, 1, "a", {x}]) end).
T(fun() -> lists:keysort(1, [{b,1},{a,2},{b,0}]) end).
T(fun() -> lists:ukeysort(1, [{b,1},{a,2},{b,0}]) end).
T(fun() -> lists:prefix([1], [1,2]) end).
T(fun() -> lists:suffix([2], [1,2]) end).
T(fun() -> lists:all(fun(X) -> X end, [true, false]) end).
T(fun() -> lists:any(fun(X) -> X end, [false]) end).
T(fun() -> lists:filter(fun(X) -> X > 1 end, [1,2]) end).
T(fun() -> lists:map(fun(X) -> X end, a) end).

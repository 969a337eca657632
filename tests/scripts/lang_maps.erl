% maps functions and map syntax, with OTP 25's results and errors
% ({badmap, M}, {badkey, K}, badarg for a bad fun or list).
T = fun(F) -> try F() catch C:R -> {C, R} end end, ok.
M = #{a => 1, b => 2}, ok.
T(fun() -> maps:get(a, M) end).
T(fun() -> maps:get(z, M) end).
T(fun() -> maps:get(a, x) end).
T(fun() -> maps:get(z, M, def) end).
T(fun() -> maps:get(a, x, def) end).
T(fun() -> maps:put(c, 3, M) end).
T(fun() -> maps:put(a, 3, x) end).
T(fun() -> maps:remove(a, M) end).
T(fun() -> maps:remove(z, M) end).
T(fun() -> maps:remove(a, x) end).
T(fun() -> maps:find(a, M) end).
T(fun() -> maps:find(z, M) end).
T(fun() -> maps:find(a, x) end).
T(fun() -> maps:is_key(a, M) end).
T(fun() -> maps:is_key(a, x) end).
T(fun() -> maps:keys(M) end).
T(fun() -> maps:keys(x) end).
T(fun() -> maps:values(M) end).
T(fun() -> maps:to_list(M) end).
T(fun() -> maps:to_list(x) end).
T(fun() -> maps:from_list([{b, 1}, {a, 2}, {b, 3}]) end).
T(fun() -> maps:from_list(x) end).
T(fun() -> maps:from_list([x]) end).
T(fun() -> maps:merge(M, #{a => 9, c => 3}) end).
T(fun() -> maps:merge(x, M) end).
T(fun() -> maps:merge(M, x) end).
T(fun() -> maps:size(M) end).
T(fun() -> maps:size(x) end).
T(fun() -> maps:fold(fun(K, V, A) -> [{K, V} | A] end, [], M) end).
T(fun() -> maps:fold(x, [], M) end).
T(fun() -> maps:fold(fun(K, V, A) -> A end, [], x) end).
T(fun() -> maps:map(fun(K, V) -> {K, V} end, M) end).
T(fun() -> maps:map(x, M) end).
T(fun() -> maps:map(fun(K, V) -> V end, x) end).
T(fun() -> maps:new() end).
T(fun() -> maps:update(a, 9, M) end).
T(fun() -> maps:update(z, 9, M) end).
T(fun() -> maps:update(a, 9, x) end).
T(fun() -> maps:filter(fun(K, V) -> V > 1 end, M) end).
T(fun() -> maps:filter(fun(K, V) -> V end, M) end).
T(fun() -> maps:take(a, M) end).
T(fun() -> maps:take(z, M) end).
T(fun() -> maps:with([a, z], M) end).
T(fun() -> maps:without([a, z], M) end).
T(fun() -> maps:with(x, M) end).
T(fun() -> maps:update_with(a, fun(V) -> V + 1 end, M) end).
T(fun() -> maps:update_with(z, fun(V) -> V + 1 end, M) end).
T(fun() -> maps:update_with(z, fun(V) -> V + 1 end, 0, M) end).
T(fun() -> maps:foreach(fun(K, V) -> ok end, M) end).
T(fun() -> maps:get(1.0, #{1 => a}) end).
T(fun() -> M#{a := 5} end).
T(fun() -> M#{z := 5} end).
T(fun() -> #{a := X} = M, X end).

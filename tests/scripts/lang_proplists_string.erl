% proplists (keys compared with =:=; atoms stand for {Key, true}) and
% string (lists and binaries; results of the same kind as the subject).
T = fun(F) -> try F() catch C:R -> {C, R} end end, ok.
T(fun() -> proplists:get_value(a, [{a, 1}, {a, 2}]) end).
T(fun() -> proplists:get_value(a, [a]) end).
T(fun() -> proplists:get_value(z, [a]) end).
T(fun() -> proplists:get_value(z, [a], d) end).
T(fun() -> proplists:get_value(a, [{a}]) end).
T(fun() -> proplists:get_value(a, [{a, 1, 2}]) end).
T(fun() -> proplists:get_value(a, x) end).
T(fun() -> proplists:get_value(1, [{1.0, x}]) end).
T(fun() -> proplists:lookup(a, [b, {a, 1}]) end).
T(fun() -> proplists:lookup(a, [a]) end).
T(fun() -> proplists:lookup(z, [a]) end).
T(fun() -> proplists:lookup(a, [{a, 1, 2}]) end).
T(fun() -> proplists:is_defined(a, [a]) end).
T(fun() -> proplists:is_defined(z, [a]) end).
T(fun() -> proplists:get_bool(a, [a]) end).
T(fun() -> proplists:get_bool(a, [{a, 1}]) end).
T(fun() -> proplists:get_bool(z, []) end).
T(fun() -> proplists:get_all_values(a, [{a, 1}, b, {a, 2}]) end).
T(fun() -> proplists:delete(a, [{a, 1}, b, a]) end).
T(fun() -> proplists:get_keys([{a, 1}, b, {a, 2}]) end).
T(fun() -> proplists:get_value(a, [x | y]) end).
T(fun() -> string:tokens("a,b,,c", ",") end).
T(fun() -> string:tokens("  a b ", " ") end).
T(fun() -> string:tokens("", ",") end).
T(fun() -> string:join(["a", "b"], ", ") end).
T(fun() -> string:join([], ", ") end).
T(fun() -> string:split("a,b,c", ",") end).
T(fun() -> string:split("a,b,c", ",", all) end).
T(fun() -> string:split("a,b,c", ",", trailing) end).
T(fun() -> string:split("abc", "x") end).
T(fun() -> string:split(<<"a,b">>, ",") end).
T(fun() -> string:split("a,,b", ",", all) end).
T(fun() -> string:split("a", "") end).
T(fun() -> string:split(",a,", ",", all) end).
T(fun() -> string:trim("  ab \n") end).
T(fun() -> string:trim("  ab  ", leading) end).
T(fun() -> string:trim("  ab  ", trailing) end).
T(fun() -> string:trim("xxabxx", both, "x") end).
T(fun() -> string:trim(<<" a ">>) end).
T(fun() -> string:uppercase("abc é") end).
T(fun() -> string:lowercase("ABC") end).
T(fun() -> string:uppercase(<<"abc">>) end).
T(fun() -> string:length("abc") end).
T(fun() -> string:length(<<"abc">>) end).
T(fun() -> string:length("a\r\nb") end).
T(fun() -> string:to_integer("123abc") end).
T(fun() -> string:to_integer("abc") end).
T(fun() -> string:to_integer("-12") end).
T(fun() -> string:to_integer(" 12") end).
T(fun() -> string:to_integer(<<"42x">>) end).
T(fun() -> string:to_integer("+5") end).
T(fun() -> string:to_integer(x) end).
T(fun() -> string:to_float("1.5x") end).
T(fun() -> string:uppercase(x) end).
T(fun() -> string:tokens(x, ",") end).
T(fun() -> string:length(x) end).

% More of string (lexemes, find, replace, slice, pad, prefix, chomp, ... and
% the old flat-string functions) with the nesting of OTP 25's results,
% and erlang:raise/3 (which returns badarg for a bad class or stack).
T = fun(F) -> try F() catch C:R -> {C, R} end end, ok.
T(fun() -> string:lexemes("a,b,,c", ",") end).
T(fun() -> string:lexemes(<<" a  b ">>, " ") end).
T(fun() -> string:find("hello world", "o") end).
T(fun() -> string:find("hello world", "o", trailing) end).
T(fun() -> string:find("hello", "x") end).
T(fun() -> string:find(<<"hello">>, "ll") end).
T(fun() -> string:replace("a,b,c", ",", ";") end).
T(fun() -> string:replace("a,b,c", ",", ";", all) end).
T(fun() -> string:replace(<<"a,b">>, ",", "--", all) end).
T(fun() -> string:slice("hello", 1) end).
T(fun() -> string:slice("hello", 1, 3) end).
T(fun() -> string:slice(<<"hello">>, 1, 10) end).
T(fun() -> string:pad("ab", 5) end).
T(fun() -> string:pad("ab", 5, leading) end).
T(fun() -> string:pad("ab", 5, both, $*) end).
T(fun() -> string:pad(<<"ab">>, 5) end).
T(fun() -> string:prefix("hello", "he") end).
T(fun() -> string:prefix("hello", "x") end).
T(fun() -> string:reverse("abc") end).
T(fun() -> string:is_empty("") end).
T(fun() -> string:is_empty(<<"a">>) end).
T(fun() -> string:chomp("abc\n") end).
T(fun() -> string:chomp("abc\r\n") end).
T(fun() -> string:equal("abc", <<"abc">>) end).
T(fun() -> string:concat("ab", "cd") end).
T(fun() -> string:str("hello", "ll") end).
T(fun() -> string:substr("hello", 2, 3) end).
T(fun() -> string:strip("  ab  ") end).
T(fun() -> string:left("ab", 4) end).
T(fun() -> string:right("ab", 4, $.) end).
T(fun() -> string:chr("hello", $l) end).
T(fun() -> string:rchr("hello", $l) end).
T(fun() -> string:to_upper("abc") end).
T(fun() -> string:to_lower("ABC") end).
T(fun() -> string:words("a b  c") end).
T(fun() -> string:copies("ab", 3) end).
T(fun() -> erlang:raise(throw, x, []) end).
T(fun() -> erlang:raise(bad, x, []) end).
T(fun() -> erlang:raise(error, x, a) end).

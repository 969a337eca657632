% binary:split/2,3 (global, trim, trim_all), match, matches, replace,
% part, copy, encode_unsigned, decode_unsigned: results and badarg.
T = fun(F) -> try F() catch C:R -> {C, R} end end, ok.
T(fun() -> binary:split(<<"a,b,c">>, <<",">>) end).
T(fun() -> binary:split(<<"a,b,c">>, <<",">>, [global]) end).
T(fun() -> binary:split(<<"a,b,,">>, <<",">>, [global, trim]) end).
T(fun() -> binary:split(<<",a,,b,">>, <<",">>, [global, trim_all]) end).
T(fun() -> binary:split(<<"a-b,c">>, [<<",">>, <<"-">>], [global]) end).
T(fun() -> binary:split(<<"abc">>, <<>>) end).
T(fun() -> binary:split(x, <<",">>) end).
T(fun() -> binary:match(<<"abcabc">>, <<"bc">>) end).
T(fun() -> binary:match(<<"abc">>, <<"x">>) end).
T(fun() -> binary:match(<<"abc">>, [<<"c">>, <<"ab">>]) end).
T(fun() -> binary:matches(<<"abcabc">>, <<"bc">>) end).
T(fun() -> binary:replace(<<"abcabc">>, <<"b">>, <<"X">>) end).
T(fun() -> binary:replace(<<"abcabc">>, <<"b">>, <<"X">>, [global]) end).
T(fun() -> binary:replace(<<"abc">>, <<"b">>, x) end).
T(fun() -> binary:part(<<"abc">>, 1, 1) end).
T(fun() -> binary:part(<<"abc">>, 3, 1) end).
T(fun() -> binary:copy(<<"ab">>, 2) end).
T(fun() -> binary:match(<<"abc">>, <<>>) end).
T(fun() -> binary:split(<<"abc">>, <<"b">>, [bad]) end).
T(fun() -> binary:encode_unsigned(256) end).
T(fun() -> binary:decode_unsigned(<<1, 0>>) end).
T(fun() -> binary:decode_unsigned(<<1, 0>>, little) end).
T(fun() -> binary:match(<<"aaa">>, [<<"a">>, <<"aa">>]) end).

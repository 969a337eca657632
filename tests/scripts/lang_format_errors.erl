% Bad formats and arguments raise error:badarg, from io:format and from
% io_lib:format alike.
F = fun(Fmt, Args) -> try io_lib:format(Fmt, Args) catch C:R -> {C, R} end end, ok.
F("~d", [x]).
F("~w", []).
F("~w", [a, b]).
F("a~", []).
F("~z", [a]).
F("~w", a).
F("~.0f", [2.5]).
F("~.1e", [2.5]).
F("~f", [1]).
F("~e", [1]).
F("~b", [1.0]).
F("~x", [1]).
F("~s", [[256]]).
F("~s", [1]).
F("~s", [{a}]).
F("~6.xs|", ["ab"]).
F(1, []).
F([$a, "b~w"], [x]).
try io:format("~w", a) catch C1:R1 -> {C1, R1} end.
try io:format(1, []) catch C2:R2 -> {C2, R2} end.
io:format("~d", [x]).

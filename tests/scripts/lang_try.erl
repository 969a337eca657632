% try ... of ... catch ... after ... end, catch and begin ... end, as
% erl_eval runs them: class patterns (explicit, variable, implicit throw),
% guards on catch clauses, of clauses and try_clause, after blocks (their
% value discarded, their output in order), exceptions that no clause
% catches, and exceptions raised in of clauses (never caught by the same
% try). Stack traces are not printed: porthost binds [] (ERTS: erl_eval's
% frames).
try 1 + 1 of 2 -> two; _ -> other catch _ -> caught end.
try throw(x) catch x -> c end.
try throw(x) catch throw:x -> explicit end.
try error(badarg) catch error:badarg -> e end.
try exit(bye) catch C:R -> {C, R} end.
try error({a, b}) catch error:{a, X} -> X end.
try 1 + a catch error:badarith -> b after io:format("after ran~n") end.
try ok after io:format("after ok~n") end.
X1 = try 1 catch _ -> 2 after 3 end, X1.
try throw(z) of _ -> 1 catch throw:Y when is_atom(Y) -> {y, Y} end.
try throw(7) catch throw:Y2 when is_atom(Y2) -> atom; throw:Y2 when is_integer(Y2) -> {int, Y2} end.
try error(oops) catch Class:Reason:Stack when is_list(Stack) -> {Class, Reason} end.
try [1] ++ a of [_ | T] -> T catch error:E -> E end.
try element(5, {a}) catch error:badarg -> bad_element end.
try lists:nth(0, [a]) catch error:function_clause -> fc end.
try begin A = 1, B = A + 1, {A, B} end of {P, Q} -> P + Q catch _:_ -> none end.
begin X2 = 10, X2 * 2 end.
catch throw(thrown).
catch exit(exited).
catch 1 + 2.
case catch throw(deep) of deep -> matched end.
try try throw(inner) catch throw:inner -> throw(outer) end catch throw:outer -> nested end.
try try error(a) after io:format("inner after~n") end catch error:a -> outer_caught end.
try (fun() -> throw(from_fun) end)() catch throw:from_fun -> ok end.
try 1 of 2 -> a catch _ -> b end.

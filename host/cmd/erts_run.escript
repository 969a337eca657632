#!/usr/bin/env escript
%% porthost's runner for port scripts under real ERTS (`porthost test
%% --against-erts` writes it out and runs it).
%%
%% Usage: erts_run.escript FILE [DIR NAME]...
%%
%% First loads each driver NAME from DIR with erl_ddll:load_driver/2 (ERTS
%% opens only loaded drivers; porthost loads them by name). Then evaluates
%% FILE's expressions, each ended by a dot, in one process, the bindings of
%% one carried to the next as in the shell, printing each value with ~w on
%% a line of its own; flush() prints "Shell got ~w" per waiting message.
%% An uncaught exception prints "error: {Class,Reason}" and exits 1; death
%% by an exit signal prints "error: {exit,Reason}" and exits 1.
-mode(compile).

main([File | Drivers]) ->
    load_drivers(Drivers),
    {ok, Bin} = file:read_file(File),
    {ok, Tokens, _} = erl_scan:string(binary_to_list(Bin)),
    Forms = forms(Tokens, []),
    {Pid, Ref} = spawn_monitor(fun() -> eval_all(Forms, erl_eval:new_bindings()) end),
    receive
        {'DOWN', Ref, process, Pid, normal} -> halt(0);
        {'DOWN', Ref, process, Pid, script_error} -> halt(1);
        {'DOWN', Ref, process, Pid, Reason} ->
            io:format("error: ~w~n", [{exit, Reason}]),
            halt(1)
    end.

load_drivers([Dir, Name | Rest]) ->
    case erl_ddll:load_driver(Dir, Name) of
        ok -> load_drivers(Rest);
        {error, E} ->
            io:format(standard_error, "loading ~s from ~s: ~s~n", [Name, Dir, erl_ddll:format_error(E)]),
            halt(2)
    end;
load_drivers([]) -> ok.

forms([], []) -> [];
forms([], Acc) -> [lists:reverse(Acc)];
forms([{dot, _} = Dot | Rest], Acc) -> [lists:reverse([Dot | Acc]) | forms(Rest, [])];
forms([Token | Rest], Acc) -> forms(Rest, [Token | Acc]).

eval_all([], _) -> ok;
eval_all([Form | Rest], Bindings) ->
    {ok, Exprs} = erl_parse:parse_exprs(Form),
    try erl_eval:exprs(Exprs, Bindings, {value, fun shell_local/2}) of
        {value, Value, Bindings2} ->
            io:format("~w~n", [Value]),
            eval_all(Rest, Bindings2)
    catch Class:Reason ->
        io:format("error: ~w~n", [{Class, Reason}]),
        exit(script_error)
    end.

shell_local(flush, []) -> flush();
shell_local(F, Args) -> erlang:error({undef, F, length(Args)}).

flush() ->
    receive M -> io:format("Shell got ~w~n", [M]), flush()
    after 0 -> ok
    end.

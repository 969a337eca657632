% Calling a function that does not exist raises error:undef, as ERTS does
% (porthost's stderr says which: "undefined function io:format/4"); the
% shell's local functions raise {undef, F, A} as erl_eval's local handler.
try io:format("a", [], x, y) catch C1:R1 -> {C1, R1} end.
try no_such_module:f() catch C2:R2 -> {C2, R2} end.
try lists:no_such_function(1) catch C3:R3 -> {C3, R3} end.
io:format("a", [], x, y).

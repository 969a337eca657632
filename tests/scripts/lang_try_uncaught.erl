% An exception that no catch clause takes propagates, after the after
% block has run; the script ends with it.
try error(q) catch throw:_ -> 1 end.

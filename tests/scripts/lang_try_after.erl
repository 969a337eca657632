% The after block runs before an uncaught exception leaves the try, and an
% exception raised in a catch clause is not caught by the same try.
try exit(k) after io:format("after ran~n") end.

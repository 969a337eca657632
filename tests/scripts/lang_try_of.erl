% An exception raised in an of clause is not caught by the try's catch
% clauses.
try ok of ok -> error(in_of) catch error:in_of -> caught end.

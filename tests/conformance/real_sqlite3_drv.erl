% Real driver: sqlite3_drv from ProcessOne's erlang-sqlite3 (Debian's erlang-p1-sqlite3), loaded unmodified and driven as its sqlite3.erl drives it
% The wire protocol of sqlite3.erl: open_port({spawn, "sqlite3_drv " ++
% File}, [binary]); port_control(Port, 2, Sql) runs SQL (5: a script of
% several statements; 4: term_to_binary({Sql, Params}) binds and runs);
% the driver runs each request as an async job (keyed by
% driver_async_port_key) and answers with term messages {Port, Result}
% built with erl_drv_output_term. Opening the database answers ok; the
% script waits for every answer before the next request, as sqlite3.erl's
% gen_server does.
Priv = "@PRIV:p1_sqlite3@", Db = "@TMP@/test.db", ok.
ok = erl_ddll:load(Priv, "sqlite3_drv").
Open = fun() -> Port = open_port({spawn, "sqlite3_drv " ++ Db}, [binary]), receive {Port, Opened} -> {Port, Opened} after 5000 -> timeout end end, ok.
{P, Opened} = Open(), Opened.
Run = fun(Port, Op, Arg) -> C = port_control(Port, Op, Arg), receive {Port, R} -> {C, R} after 5000 -> timeout end end, ok.
Run(P, 2, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB)").
Run(P, 2, "INSERT INTO t (name, score) VALUES ('alice', 1.5)").
Run(P, 2, <<"INSERT INTO t (name, score) VALUES ('bob', -2)">>).
Run(P, 4, term_to_binary({<<"INSERT INTO t (name, score, data) VALUES (?, ?, ?)">>, [<<"carol">>, 4.25, {blob, <<1, 2, 3>>}]})).
Run(P, 4, term_to_binary({<<"INSERT INTO t (name, score) VALUES (?1, ?2)">>, [<<"dave">>, 7]})).
Run(P, 2, "SELECT * FROM t ORDER BY id").
Run(P, 2, "SELECT name FROM t WHERE score > 1 ORDER BY name").
Run(P, 2, "SELECT count(*), sum(score) FROM t").
Run(P, 2, "SELEKT nonsense").
Run(P, 2, "SELECT * FROM no_such_table").
Run(P, 2, "UPDATE t SET score = score * 2 WHERE name = 'bob'").
Run(P, 5, "BEGIN; INSERT INTO t (name) VALUES ('e1'); INSERT INTO t (name) VALUES ('e2'); COMMIT;").
Run(P, 2, "SELECT count(*) FROM t").
Run(P, 2, "BEGIN").
Ids = [element(2, Run(P, 4, term_to_binary({<<"INSERT INTO t (name, score) VALUES (?, ?)">>, [list_to_binary("n" ++ integer_to_list(I)), I]}))) || I <- lists:seq(1, 300)], {hd(Ids), lists:last(Ids), length(lists:usort(Ids))}.
Run(P, 2, "COMMIT").
Run(P, 2, "SELECT count(*), sum(score) FROM t").
{C1, [{columns, Cols}, {rows, Rows}]} = Run(P, 2, "SELECT id, name FROM t WHERE id > 4 ORDER BY id"), {C1, Cols, length(Rows), hd(Rows), lists:last(Rows)}.
{Q, _} = Open(), ok.
Main = self(), ok.
W = spawn(fun() -> receive go -> ok end, Main ! {w, Run(Q, 2, "SELECT count(*) FROM t WHERE score > 100")} end), port_connect(Q, W), unlink(Q), W ! go, receive {w, RW} -> RW after 5000 -> timeout end.
port_close(P).
{P2, _} = Open(), Run(P2, 2, "SELECT name FROM t WHERE id <= 4 ORDER BY id").
port_close(P2).
flush().

% A port script: each expression's value is printed with ~w, one per line.
% `porthost test` compares the output with {{NAME}}.out next to this file.
P = open_port({spawn_driver, "{{NAME}}"}, [binary]).
port_command(P, "hello").
receive {P, {data, Data}} -> Data after 1000 -> timeout end.
port_control(P, 0, "shout").
port_close(P).

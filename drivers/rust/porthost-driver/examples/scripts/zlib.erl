% rs_zlib_drv: data through a deflate port and back through an inflate port.
Data = <<"porthost compresses this, porthost compresses this, porthost compresses this.">>.
Collect = fun C(P, Acc) -> receive {P, {data, D}} -> C(P, <<Acc/binary, D/binary>>); {P, finished} -> Acc after 5000 -> timeout end end, ok.
Z = open_port({spawn_driver, "rs_zlib_drv deflate"}, [binary]).
port_command(Z, Data).
port_command(Z, Data).
port_control(Z, $f, "").
Compressed = Collect(Z, <<>>).
byte_size(Compressed) < 2 * byte_size(Data).
I = open_port({spawn_driver, "rs_zlib_drv inflate"}, [binary]).
port_command(I, Compressed).
port_control(I, $f, "").
Collect(I, <<>>) =:= <<Data/binary, Data/binary>>.
port_close(Z).
port_close(I).

% Time, sleep and the environment: time unit conversion (floors), bad
% units, monotonic and system time (shapes and order only: the values are
% the machine's), timer:sleep/1 and timer:tc/1,3, os:getenv/1,2,
% os:putenv/2, os:unsetenv/1, os:type/0, and the fixed system_info items.
erlang:convert_time_unit(1, second, native).
erlang:convert_time_unit(1500, millisecond, second).
erlang:convert_time_unit(-1500, millisecond, second).
erlang:convert_time_unit(1, second, 3).
try erlang:monotonic_time(bad) catch C1:R1 -> {C1, R1} end.
is_integer(erlang:system_time(seconds)).
T0 = erlang:monotonic_time(millisecond), timer:sleep(20), erlang:monotonic_time(millisecond) - T0 >= 20.
is_integer(erlang:monotonic_time()).
erlang:system_time(second) > 1600000000.
{Mega, Sec, Micro} = os:timestamp(), is_integer(Mega + Sec + Micro).
{_, _, _} = erlang:timestamp(), ok.
timer:sleep(0).
try timer:sleep(x) catch C2:R2 -> {C2, R2} end.
{T1, V1} = timer:tc(fun() -> timer:sleep(5), 42 end), {T1 >= 5000, V1}.
{_, V2} = timer:tc(lists, seq, [1, 3]), V2.
os:type().
os:getenv("PORTHOST_SURELY_NOT_SET").
os:getenv("PORTHOST_SURELY_NOT_SET", "default").
os:putenv("PORTHOST_LANG_VAR", "v1").
os:getenv("PORTHOST_LANG_VAR").
os:unsetenv("PORTHOST_LANG_VAR").
os:getenv("PORTHOST_LANG_VAR").
try os:getenv(x) catch C3:R3 -> {C3, R3} end.
try os:putenv("A=B", "x") catch C4:R4 -> {C4, R4} end.
erlang:system_info(otp_release).
erlang:system_info(port_limit).
erlang:system_info(version).
erlang:system_info(wordsize).
is_list(erlang:system_info(system_version)).
try erlang:system_info(bad_item) catch C5:R5 -> {C5, R5} end.

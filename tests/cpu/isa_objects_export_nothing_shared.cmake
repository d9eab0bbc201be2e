# Fails when an object compiled with ISA flags (…_avx2, …_avx512, …_avx512_vnni, …_amx) holds a weak or
# unique symbol: such a symbol (an inline function or template instance) could be the copy the
# linker keeps for the whole library, and run AVX-512 code on a machine without it.
# Arguments: -DNM=<nm> -DOBJECTS=<list of object files>
set(found "")
foreach(object IN LISTS OBJECTS)
  if(NOT object MATCHES "_(avx[0-9a-z_]*|amx)\\.cpp\\.o$")
    continue()
  endif()
  execute_process(COMMAND ${NM} -C ${object} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${object}")
  endif()
  string(REGEX MATCHALL "[^\n]* [WVu] [^\n]*" shared "${symbols}")
  if(shared)
    string(APPEND found "${object}:\n  ${shared}\n")
  endif()
  math(EXPR checked "${checked} + 1")
endforeach()
if(found)
  message(FATAL_ERROR "ISA objects with shared (weak) symbols:\n${found}")
endif()
message("checked ${checked} ISA objects: no weak symbols")

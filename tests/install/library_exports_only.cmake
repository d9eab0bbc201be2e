# Fails when a shared library exports a symbol whose name does not match ALLOWED: libqlinear.so
# exports namespace qlinear's symbols (src/libqlinear.map), the Python modules their PyInit_
# function (python/module.map). An exported copy of a std:: template instance crashed the Python
# package where numpy or torch had loaded libstdc++ first (both maps say how).
# Arguments: -DNM=<nm> -DLIBRARIES=<paths, ;-separated> -DALLOWED=<regex> -DWHAT=<ALLOWED in words>
foreach(library IN LISTS LIBRARIES)
  execute_process(COMMAND ${NM} -D --defined-only ${library} OUTPUT_VARIABLE symbols
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} -D failed on ${library}")
  endif()
  string(REPLACE "\n" ";" lines "${symbols}")
  set(foreign "")
  set(count 0)
  foreach(line IN LISTS lines)
    # "<address> <type> <name>"; the version node's own absolute symbol is not code.
    if(NOT line MATCHES "^[0-9a-f]* ([A-Za-z]) (.*)$")
      continue()
    endif()
    set(type "${CMAKE_MATCH_1}")
    set(name "${CMAKE_MATCH_2}")
    if(type STREQUAL "A")
      continue()
    endif()
    math(EXPR count "${count} + 1")
    if(NOT name MATCHES "${ALLOWED}")
      string(APPEND foreign "  ${name}\n")
    endif()
  endforeach()
  if(count EQUAL 0)
    message(FATAL_ERROR "${library} exports nothing: the check cannot read it")
  endif()
  if(foreign)
    message(FATAL_ERROR "${library} exports symbols other than ${WHAT}:\n${foreign}")
  endif()
  message("${library}: ${count} exported symbols, all ${WHAT}")
endforeach()

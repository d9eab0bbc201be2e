# `qlinear tune` on a tiny layer writes a table (TABLE); `qlinear select` then follows it through
# QLINEAR_TUNING for that layer and says so. QLINEAR is the tool.
file(REMOVE ${TABLE})
execute_process(COMMAND ${QLINEAR} tune --device cpu --family mixed_precision --nk 48x256
                        --m 1 --m 4 --reps 2 --warmup 1 --rotate-mib 0 --out ${TABLE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "M +4:.* us\n  plan: " OR NOT EXISTS ${TABLE})
  message(FATAL_ERROR "tune: exit code ${rc}, or no plan printed, or no table written")
endif()
file(READ ${TABLE} table)
string(JSON version GET "${table}" qlinear_tuning_version)
string(JSON kernel GET "${table}" entries 0 plan 0 kernel)
if(NOT version EQUAL 1 OR kernel STREQUAL "")
  message(FATAL_ERROR "the table has no version 1 or no plan")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env QLINEAR_TUNING=${TABLE}
                        ${QLINEAR} select --family mixed_precision --n 48 --k 256 --target cpu --m 1
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "note: the plan measured by tuning table ${TABLE}"
   OR NOT out MATCHES "M = 1 runs ${kernel}")
  message(FATAL_ERROR "select did not follow the table")
endif()
# --replan makes the plans again from the measured times, timing nothing.
execute_process(COMMAND ${QLINEAR} tune --replan ${TABLE} --out ${TABLE}.replanned
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
file(READ ${TABLE}.replanned replanned)
string(JSON again GET "${replanned}" entries 0 plan 0 kernel)
if(NOT rc EQUAL 0 OR NOT out MATCHES "made 1 plans again" OR NOT again STREQUAL kernel)
  message(FATAL_ERROR "tune --replan did not make the plan again")
endif()
# --resume times only the layers the table lacks (one more shape here), keeps the others as they
# were, and writes the table after each layer.
execute_process(COMMAND ${QLINEAR} tune --device cpu --family mixed_precision --nk 48x256
                        --nk 32x128 --m 1 --reps 2 --warmup 1 --rotate-mib 0 --out ${TABLE} --resume
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
file(READ ${TABLE} resumed)
string(JSON layers LENGTH "${resumed}" entries)
string(JSON first GET "${resumed}" entries 0)
string(JSON first_before GET "${table}" entries 0)
if(NOT rc EQUAL 0 OR NOT out MATCHES "resuming: 1 layers in .*, 1 to time" OR NOT out MATCHES
   "N=32 K=128" OR out MATCHES "N=48 K=256\n" OR NOT layers EQUAL 2
   OR NOT first STREQUAL first_before)
  message(FATAL_ERROR "tune --resume did not time only the missing layer")
endif()
# --merge keeps the other table's layers beside the ones timed now.
execute_process(COMMAND ${QLINEAR} tune --device cpu --family mixed_precision --nk 16x128 --m 1
                        --reps 2 --warmup 1 --rotate-mib 0 --merge ${TABLE} --out ${TABLE}.merged
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
file(READ ${TABLE}.merged merged)
string(JSON layers LENGTH "${merged}" entries)
if(NOT rc EQUAL 0 OR NOT layers EQUAL 3)
  message(FATAL_ERROR "tune --merge did not keep the other table's 2 layers beside the new one")
endif()
# A corrupt table is noted and the priority list decides.
file(WRITE ${TABLE} "{ not json")
execute_process(COMMAND ${CMAKE_COMMAND} -E env QLINEAR_TUNING=${TABLE}
                        ${QLINEAR} select --family mixed_precision --n 48 --k 256 --target cpu
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0 OR NOT out MATCHES "not valid JSON.*QLINEAR_TUNING\\): ignored")
  message(FATAL_ERROR "select did not report the corrupt table")
endif()

# Test helpers. Labels: unit (cmocka, no servers), integration and e2e (the real local
# stack from deploy/stack; connection settings come from the BILLING_* environment that
# tests/run exports).

# bg_add_test(NAME LABEL SOURCES src... [LIBS lib...] [TIMEOUT seconds])
function(bg_add_test name label)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT T_TIMEOUT)
    if(label STREQUAL "unit")
      set(T_TIMEOUT 60)
    else()
      set(T_TIMEOUT 300)
    endif()
  endif()
  set_tests_properties(${name} PROPERTIES LABELS ${label} TIMEOUT ${T_TIMEOUT})
endfunction()

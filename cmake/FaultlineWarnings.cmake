# faultline_warnings: an interface target carrying the project's warning flags. Every faultline
# library, executable and test links it; third-party headers come in as SYSTEM and stay quiet.
add_library(faultline_warnings INTERFACE)
target_compile_options(faultline_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion
  # GCC 12 false positive on Asio's coroutine-frame allocator (operator new paired with its own
  # deallocate through std::free): https://gcc.gnu.org/bugzilla/show_bug.cgi?id=109224
  -Wno-mismatched-new-delete
  # C++20 designated initializers leave members at their defaults on purpose; GCC 12 warns anyway.
  -Wno-missing-field-initializers)
if(FAULTLINE_SANITIZE)
  # Sanitizer instrumentation defeats GCC 12's flow analysis: it reports std::regex / std::function
  # members as maybe-uninitialized. The release build keeps the warning (and -Werror).
  target_compile_options(faultline_warnings INTERFACE -Wno-maybe-uninitialized)
endif()
if(FAULTLINE_WERROR)
  target_compile_options(faultline_warnings INTERFACE -Werror)
endif()

# faultline_add_test(NAME SOURCES... LIBS ...): one GoogleTest executable, discovered per test case.
function(faultline_add_test name)
  cmake_parse_arguments(ARG "SERIAL" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} faultline_test_support GTest::gtest_main
                                        faultline_warnings)
  # SERIAL: tests whose verdicts rest on latency measured on this machine (scenario runs) run
  # alone, so other tests running in parallel on 2 cores do not become part of what they measure.
  set(serial FALSE)
  if(ARG_SERIAL)
    set(serial TRUE)
  endif()
  # One label, the given ones joined with "-" ("runner-e2e"): gtest_discover_tests writes its
  # PROPERTIES out flat, so a list of labels spilled into the next property — "LABELS runner e2e
  # RUN_SERIAL TRUE" set a property "e2e" and lost RUN_SERIAL, and every scenario test ran beside
  # others, measuring their load. `ctest -L` takes a regex: -L runner and -L e2e both still match.
  string(JOIN "-" labels ${ARG_LABELS})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES RUN_SERIAL ${serial}
                       LABELS "${labels}")
endfunction()

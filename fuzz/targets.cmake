# The libFuzzer targets (docs/fuzzing.md), one per parser: fuzz_<name> from
# fuzz/<name>_fuzz.cpp, linked with libFuzzer's main. Included from the top CMakeLists.txt
# when EDGESIM_FUZZ is on; scripts/fuzz.sh builds and runs them.
set(EDGESIM_FUZZ_TARGETS config sweep trace npy npz npu_network tflite dram_trace dram_part fault_campaign
    input_csv hf_config npu_config sweep_results regress)
add_custom_target(fuzz_all)
foreach(name IN LISTS EDGESIM_FUZZ_TARGETS)
  add_executable(fuzz_${name} ${CMAKE_SOURCE_DIR}/fuzz/${name}_fuzz.cpp ${CMAKE_SOURCE_DIR}/fuzz/sc_main.cpp)
  target_compile_options(fuzz_${name} PRIVATE ${EDGESIM_WARNINGS})
  target_compile_definitions(fuzz_${name} PRIVATE EDGESIM_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  target_link_libraries(fuzz_${name} PRIVATE edgesim_core)
  target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  add_dependencies(fuzz_all fuzz_${name})
endforeach()

# The writer of the binary seeds (fuzz/make_seeds.cpp); built on request only.
add_executable(fuzz_make_seeds EXCLUDE_FROM_ALL ${CMAKE_SOURCE_DIR}/fuzz/make_seeds.cpp
               ${CMAKE_SOURCE_DIR}/fuzz/sc_main.cpp)
target_include_directories(fuzz_make_seeds PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
target_link_libraries(fuzz_make_seeds PRIVATE edgesim_core)

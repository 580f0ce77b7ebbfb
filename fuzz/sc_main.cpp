// What every fuzz target links besides its own file.
//
// Debian's libsystemc.so carries main() and needs the program's sc_main; the fuzz targets
// have libFuzzer's main instead and never elaborate a SystemC design (a target that
// reaches sc_main has gone wrong).
//
// libFuzzer calls LLVMFuzzerInitialize once before the first input: the parsers' warnings
// (spdlog) are switched off, since millions of inputs would print them to the log.
#include <spdlog/spdlog.h>

#include <cstdlib>

extern "C" int sc_main(int, char*[]) {
  std::abort();
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

// Debian's libsystemc.so carries main() and needs the program's sc_main; the fuzz targets
// have libFuzzer's main instead and never elaborate a SystemC design (a target that
// reaches sc_main has gone wrong).
#include <cstdlib>

extern "C" int sc_main(int, char*[]) {
  std::abort();
}

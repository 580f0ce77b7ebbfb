// Debian's libsystemc.so carries main() and needs the program's sc_main. The benchmarks
// linked with this file have their own main() and never start SystemC: reaching sc_main
// would mean something has gone wrong.
#include <cstdlib>

extern "C" int sc_main(int, char*[]) {
  std::abort();
}

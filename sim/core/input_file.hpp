#pragma once
// Opening a file the user named. A directory opens as a stream on Linux and then reads as
// an error deep inside a parser (or as a file of 2^63 bytes), so it is refused here, by
// name, with the rest of "cannot open".
#include <fstream>
#include <string>

namespace edgesim {

/// Opens `path` for binary reading; an InputError "cannot open WHAT 'PATH': REASON" when
/// it cannot be opened or is a directory. `what` names the kind of file ("trace",
/// ".npy file"); empty for none.
std::ifstream open_input_file(const std::string& path, const std::string& what = "");

/// The same check for a stream the caller opens itself (a member stream).
void open_input_file(std::ifstream& in, const std::string& path, const std::string& what = "");

/// The directory check alone, for a file another library opens (zlib's gzopen): an
/// InputError "cannot open WHAT 'PATH': it is a directory".
void refuse_directory(const std::string& path, const std::string& what = "");

}  // namespace edgesim

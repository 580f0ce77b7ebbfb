#pragma once
// A set of chunks of one tensor: the unit both sides speak. The workload's policies say
// which chunks an op needs; the weight store reads them. Ids are local to the tensor.
#include <cstdint>
#include <vector>

namespace edgesim {

struct ChunkSet {
  enum class Kind : uint8_t { None = 0, All = 1, List = 2 };
  Kind kind = Kind::None;
  std::vector<uint32_t> ids;  // List only: sorted, unique, local to the tensor

  uint32_t count(uint32_t total_chunks) const {
    switch (kind) {
      case Kind::None: return 0;
      case Kind::All: return total_chunks;
      case Kind::List: return static_cast<uint32_t>(ids.size());
    }
    return 0;
  }
  void set_all() {
    kind = Kind::All;
    ids.clear();
  }
  void set_none() {
    kind = Kind::None;
    ids.clear();
  }
  void set_list() {
    kind = Kind::List;
    ids.clear();
  }  // then push ids in increasing order
  bool operator==(const ChunkSet& o) const { return kind == o.kind && ids == o.ids; }
};

}  // namespace edgesim

#include "models/fault/campaign.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <string>
#include <thread>

#include "sim/core/progress.hpp"

namespace edgesim::fault {

const char* sampling_name(Sampling s) {
  switch (s) {
    case Sampling::kUniform: return "uniform";
    case Sampling::kImportance: return "importance";
    default: return "proportional";
  }
}

Sampler::Sampler(const SiteMap& sites, Sampling s, const FaultModel& model)
    : sites_(sites), s_(s), model_(model) {
  const size_t n = sites.sites.size();
  p_.resize(n), q_.resize(n), cdf_.resize(n);
  double sum = 0;
  for (const auto& site : sites.sites) sum += site.live_bit_cycles();
  for (size_t i = 0; i < n; ++i) p_[i] = sites.sites[i].live_bit_cycles() / sum;
  // The proposal favours long-lived structures: half the draws as p, half shared among the
  // blocks in proportion to their residency (the fraction of cycles their bits hold live
  // data), whatever their size, and within a block as p. Weights p / q stay below 2.
  std::array<double, kBlocks> block_p{}, share{};
  double res_sum = 0;
  for (size_t i = 0; i < n; ++i) block_p[static_cast<size_t>(sites.sites[i].block)] += p_[i];
  for (size_t b = 0; b < kBlocks; ++b)
    if (block_p[b] > 0) share[b] = sites.residency(static_cast<Block>(b)), res_sum += share[b];
  for (size_t i = 0; i < n; ++i) {
    const auto b = static_cast<size_t>(sites.sites[i].block);
    if (s == Sampling::kUniform) {
      q_[i] = 1.0 / static_cast<double>(n);
    } else if (s == Sampling::kImportance) {
      q_[i] = 0.5 * p_[i] + 0.5 * share[b] / res_sum * p_[i] / block_p[b];
    } else {
      q_[i] = p_[i];
    }
    cdf_[i] = (i ? cdf_[i - 1] : 0) + q_[i];
  }
}

Sampler::Draw Sampler::draw(std::mt19937_64& rng) const {
  std::uniform_real_distribution<double> u(0, cdf_.back());
  Draw d;
  const size_t s =
      std::min(static_cast<size_t>(std::upper_bound(cdf_.begin(), cdf_.end(), u(rng)) - cdf_.begin()),
               cdf_.size() - 1);
  const Site& site = sites_.sites[s];
  d.fault.site = s;
  const auto w = static_cast<uint64_t>(site.word_bits);
  const uint64_t words = site.bits / w;
  const uint64_t word = std::uniform_int_distribution<uint64_t>(0, words - 1)(rng);
  uint64_t pos = std::uniform_int_distribution<uint64_t>(0, w - 1)(rng);
  double weight = s_ == Sampling::kImportance ? p_[s] / q_[s] : 1.0;
  if (s_ == Sampling::kImportance) {
    // Bit position: half the draws uniform, half in the word's upper half (q = 0.5 / W in
    // the lower half, 1.5 / W in the upper; weight (1 / W) / q).
    if (std::uniform_int_distribution<int>(0, 1)(rng)) pos = w / 2 + pos % (w - w / 2);
    weight *= pos >= w / 2 ? 1.0 / 1.5 : 1.0 / 0.5;
  }
  d.fault.bit = word * w + pos;
  d.fault.cycle = std::uniform_int_distribution<uint64_t>(site.window_start, site.window_end - 1)(rng);
  d.fault.stuck_value = std::uniform_int_distribution<int>(0, 1)(rng) != 0;
  d.fault.aux = rng();
  d.weight = weight;
  return d;
}

namespace {

/// SplitMix64: decorrelated seeds for the per-injection generators.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::vector<Sample> run_campaign(const npu::Network& net, const npu::Plan& plan, const SiteMap& sites,
                                 const Goldens& goldens, const InjectorOptions& io,
                                 const CampaignOptions& o) {
  const Sampler sampler(sites, o.sampling, io.model);
  std::vector<Sample> out(o.samples);
  std::atomic<uint64_t> next{0}, done{0};
  constexpr uint64_t kChunk = 64;
  sim::Progress progress(std::string("fault ") + sampling_name(o.sampling), o.samples, o.progress);
  auto work = [&](bool report) {
    Injector inj(net, plan, sites, goldens, io);
    for (;;) {
      const uint64_t first = next.fetch_add(kChunk);
      if (first >= o.samples) break;
      const uint64_t last = std::min(o.samples, first + kChunk);
      for (uint64_t i = first; i < last; ++i) {
        std::mt19937_64 rng(mix(mix(o.seed) ^ mix(static_cast<uint64_t>(o.sampling) + 1) ^ i));
        const Sampler::Draw d = sampler.draw(rng);
        const auto input =
            static_cast<uint32_t>(std::uniform_int_distribution<size_t>(0, goldens.inputs() - 1)(rng));
        const InjectionResult r = inj.inject(d.fault, input);
        out[i] = Sample{static_cast<uint32_t>(d.fault.site), input, r.outcome, r.top1, d.weight};
      }
      const uint64_t now = done.fetch_add(last - first) + (last - first);
      if (report) progress.update(now);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned w = 1; w < std::max(1u, o.workers); ++w) pool.emplace_back(work, false);
  work(true);
  for (auto& t : pool) t.join();
  progress.update(o.samples);
  return out;
}

Counts total_counts(const std::vector<Sample>& samples) {
  Counts c;
  for (const auto& s : samples) ++c.n, ++c.outcome[static_cast<int>(s.outcome)];
  return c;
}

nlohmann::json counts_json(const Counts& k, double z) {
  auto rate = [&](uint64_t c) {
    const Interval i = wilson(c, k.n, z);
    return nlohmann::json{{"value", i.value}, {"ci_low", i.low}, {"ci_high", i.high}};
  };
  return {{"injections", k.n},
          {"masked", k.outcome[0]},
          {"sdc", k.outcome[1]},
          {"tolerable_sdc", k.outcome[2]},
          {"due", k.outcome[3]},
          {"sdc_rate", rate(k.outcome[1])},
          {"tolerable_sdc_rate", rate(k.outcome[2])},
          {"due_rate", rate(k.outcome[3])}};
}

namespace {

/// Counts, bits and residency of a group of blocks (`in_group` picks them).
template <class InGroup>
nlohmann::json group_json(const SiteMap& sites, const std::vector<Sample>& samples, double z,
                          InGroup in_group) {
  Counts k;
  uint64_t bits = 0;
  double live = 0;
  for (size_t b = 0; b < kBlocks; ++b) {
    if (!in_group(static_cast<Block>(b))) continue;
    bits += sites.capacity_bits[b];
    live += sites.live_bit_cycles[b];
  }
  for (const auto& s : samples)
    if (in_group(sites.sites[s.site].block)) ++k.n, ++k.outcome[static_cast<int>(s.outcome)];
  nlohmann::json j = counts_json(k, z);
  j["bits"] = bits;
  j["residency"] =
      bits && sites.cycles ? live / (static_cast<double>(bits) * static_cast<double>(sites.cycles)) : 0.0;
  return j;
}

}  // namespace

nlohmann::json block_results(const SiteMap& sites, const std::vector<Sample>& samples, double z) {
  nlohmann::json blocks = nlohmann::json::array();
  for (size_t b = 0; b < kBlocks; ++b) {
    const auto blk = static_cast<Block>(b);
    nlohmann::json j = group_json(sites, samples, z, [&](Block x) { return x == blk; });
    j["name"] = block_name(blk);
    j["class"] = block_class(blk);
    // Per strike anywhere in the block's bits (live or not): the rates times residency.
    const double res = j["residency"].get<double>();
    auto scaled = [&](const nlohmann::json& r) {
      return nlohmann::json{{"value", res * r["value"].get<double>()},
                            {"ci_low", res * r["ci_low"].get<double>()},
                            {"ci_high", res * r["ci_high"].get<double>()}};
    };
    j["derating"] = {{"sdc", scaled(j["sdc_rate"])}, {"due", scaled(j["due_rate"])}};
    blocks.push_back(j);
  }
  return blocks;
}

nlohmann::json class_results(const SiteMap& sites, const std::vector<Sample>& samples, double z) {
  nlohmann::json out = nlohmann::json::array();
  for (const std::string cls : {"sram", "flop", "dram"}) {
    nlohmann::json j = group_json(sites, samples, z, [&](Block x) { return cls == block_class(x); });
    j["class"] = cls;
    out.push_back(j);
  }
  return out;
}

RaEstimate resiliency_accuracy(const std::vector<Sample>& samples, const std::vector<int>& labels,
                               const std::vector<int>& golden_top1, double z, bool weighted) {
  RaEstimate e;
  e.n = samples.size();
  if (samples.empty()) return e;
  // RA = clean accuracy - E[d], d = [golden correct] - [faulty correct]: the clean
  // accuracy over the inputs is known exactly, only the loss a fault causes is sampled
  // (as the mean of w d; w = 1 for plain Monte Carlo).
  double clean = 0;
  for (size_t i = 0; i < labels.size(); ++i) clean += golden_top1[i] == labels[i] ? 1 : 0;
  clean /= static_cast<double>(labels.size());
  double sum = 0, sum2 = 0;
  for (const auto& s : samples) {
    const double d =
        (golden_top1[s.input] == labels[s.input] ? 1.0 : 0.0) - (s.top1 == labels[s.input] ? 1.0 : 0.0);
    const double v = d * (weighted ? s.weight : 1.0);
    sum += v, sum2 += v * v;
  }
  const double n = static_cast<double>(samples.size());
  const double mean = sum / n;
  e.variance = std::max(0.0, sum2 / n - mean * mean) * n / std::max(1.0, n - 1);
  e.ra = clean - mean;
  const double half = z * std::sqrt(e.variance / n);
  e.low = e.ra - half, e.high = e.ra + half;
  return e;
}

}  // namespace edgesim::fault

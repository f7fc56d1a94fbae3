// BpfFilter: one BPF filter expression compiled once per link type, so frames of a
// pcapng file with several interfaces are each matched by a program built for their
// own link layer. Compilation uses libpcap on a "dead" handle; matching is
// pcap_offline_filter, which reads only the captured bytes.
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <string>
#include <vector>

namespace spamtap::capture_detail {

class BpfFilter {
 public:
  explicit BpfFilter(std::string expression) : expression_(std::move(expression)) {}
  ~BpfFilter();
  BpfFilter(const BpfFilter&) = delete;
  BpfFilter& operator=(const BpfFilter&) = delete;

  bool empty() const { return expression_.empty(); }
  const std::string& expression() const { return expression_; }

  // Compiles the expression for `link_type` unless already done. On failure sets
  // `error` to libpcap's message.
  bool prepare(int link_type, std::string* error);
  // True when the frame passes; `prepare` must have succeeded for `link_type`.
  bool matches(int link_type, const uint8_t* data, uint32_t captured_length,
               uint32_t wire_length);

 private:
  struct Program {
    int link_type = 0;
    bpf_program code{};
  };
  const Program* find(int link_type) const;

  std::string expression_;
  std::vector<Program> programs_;
};

}  // namespace spamtap::capture_detail

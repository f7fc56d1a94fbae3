#include "capture/bpf_filter.hpp"

namespace spamtap::capture_detail {

namespace {

constexpr int kCompileSnapLength = 262144;

// Files carry LINKTYPE_ values; libpcap compiles for DLT_ values. They differ for a
// few old link types, among them raw IP.
int data_link_for(int link_type) {
  switch (link_type) {
    case 100: return DLT_ATM_RFC1483;
    case 101: return DLT_RAW;
    case 102: return DLT_SLIP_BSDOS;
    case 103: return DLT_PPP_BSDOS;
    default: return link_type;
  }
}

}  // namespace

BpfFilter::~BpfFilter() {
  for (Program& program : programs_) pcap_freecode(&program.code);
}

const BpfFilter::Program* BpfFilter::find(int link_type) const {
  for (const Program& program : programs_) {
    if (program.link_type == link_type) return &program;
  }
  return nullptr;
}

bool BpfFilter::prepare(int link_type, std::string* error) {
  if (empty() || find(link_type) != nullptr) return true;

  pcap_t* dead = pcap_open_dead(data_link_for(link_type), kCompileSnapLength);
  if (dead == nullptr) {
    *error = "cannot create a libpcap handle to compile the filter";
    return false;
  }
  Program program;
  program.link_type = link_type;
  bool ok = pcap_compile(dead, &program.code, expression_.c_str(), 1,
                         PCAP_NETMASK_UNKNOWN) == 0;
  if (!ok) *error = pcap_geterr(dead);
  pcap_close(dead);
  if (ok) programs_.push_back(program);
  return ok;
}

bool BpfFilter::matches(int link_type, const uint8_t* data, uint32_t captured_length,
                        uint32_t wire_length) {
  if (empty()) return true;
  const Program* program = find(link_type);
  if (program == nullptr) return false;
  pcap_pkthdr header{};
  header.caplen = captured_length;
  header.len = wire_length;
  return pcap_offline_filter(&program->code, &header, data) != 0;
}

}  // namespace spamtap::capture_detail

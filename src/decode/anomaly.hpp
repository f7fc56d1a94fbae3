// The named oddities the decoder counts. Counting is an array increment so that a
// flood of bad frames costs no allocation; the names are only turned into a map
// when someone asks for them.
#pragma once

#include <cstddef>
#include <string_view>

namespace spamtap::decode_detail {

#define SPAMTAP_DECODE_ANOMALIES(X)            \
  X(kFrameEmpty, "frame_empty")                \
  X(kUnsupportedLinkType, "unsupported_link_type") \
  X(kEthernetTruncated, "ethernet_truncated")  \
  X(kVlanTruncated, "vlan_truncated")          \
  X(kVlanTooDeep, "vlan_too_deep")             \
  X(kMplsTruncated, "mpls_truncated")          \
  X(kMplsTooDeep, "mpls_too_deep")             \
  X(kPppoeTruncated, "pppoe_truncated")        \
  X(kLinuxSllTruncated, "linux_sll_truncated") \
  X(kLinuxSll2Truncated, "linux_sll2_truncated") \
  X(kLoopbackTruncated, "loopback_truncated")  \
  X(kNflogTruncated, "nflog_truncated")        \
  X(kNflogBadTlv, "nflog_bad_tlv")             \
  X(kTunnelTooDeep, "tunnel_too_deep")         \
  X(kGreTruncated, "gre_truncated")            \
  X(kGreUnsupportedHeader, "gre_unsupported_header") \
  X(kErspanTruncated, "erspan_truncated")      \
  X(kIpBadVersion, "ip_bad_version")           \
  X(kIpv4TruncatedHeader, "ipv4_truncated_header") \
  X(kIpv4BadHeaderLength, "ipv4_bad_header_length") \
  X(kIpv4BadTotalLength, "ipv4_bad_total_length") \
  X(kIpv4TotalLengthExceedsCapture, "ipv4_total_length_exceeds_capture") \
  X(kIpv6TruncatedHeader, "ipv6_truncated_header") \
  X(kIpv6PayloadLengthExceedsCapture, "ipv6_payload_length_exceeds_capture") \
  X(kIpv6TruncatedExtensionHeader, "ipv6_truncated_extension_header") \
  X(kIpv6TooManyExtensionHeaders, "ipv6_too_many_extension_headers") \
  X(kIpv6NestedFragment, "ipv6_nested_fragment") \
  X(kFragmentTruncated, "fragment_truncated")  \
  X(kFragmentEmpty, "fragment_empty")          \
  X(kFragmentTooLarge, "fragment_too_large")   \
  X(kFragmentOverlap, "fragment_overlap")      \
  X(kFragmentInconsistentLength, "fragment_inconsistent_length") \
  X(kFragmentTableFull, "fragment_table_full") \
  X(kFragmentTimeout, "fragment_timeout")      \
  X(kTcpTruncatedHeader, "tcp_truncated_header") \
  X(kTcpHeaderCutBySnapLength, "tcp_header_cut_by_snap_length") \
  X(kTcpOptionsCutBySnapLength, "tcp_options_cut_by_snap_length") \
  X(kTcpBadDataOffset, "tcp_bad_data_offset")  \
  X(kUdpTruncatedHeader, "udp_truncated_header") \
  X(kUdpBadLength, "udp_bad_length")           \
  X(kIcmpTruncatedHeader, "icmp_truncated_header")

enum class Anomaly : size_t {
#define SPAMTAP_ANOMALY_ENUM(name, text) name,
  SPAMTAP_DECODE_ANOMALIES(SPAMTAP_ANOMALY_ENUM)
#undef SPAMTAP_ANOMALY_ENUM
      kCount
};

constexpr size_t kAnomalyCount = static_cast<size_t>(Anomaly::kCount);

constexpr std::string_view anomaly_name(Anomaly anomaly) {
  constexpr std::string_view kNames[] = {
#define SPAMTAP_ANOMALY_NAME(name, text) text,
      SPAMTAP_DECODE_ANOMALIES(SPAMTAP_ANOMALY_NAME)
#undef SPAMTAP_ANOMALY_NAME
  };
  return kNames[static_cast<size_t>(anomaly)];
}

}  // namespace spamtap::decode_detail

// The decoder walks a frame outside in: link layer to an EtherType (or an IP
// version guess), then IPv4 or IPv6, then the transport header. A tunnel (IP in
// IP, GRE, ERSPAN) sends the walk back to the network or link layer one level
// deeper, a bounded number of times. Every read goes through a length that was
// checked against what was captured; the wire length is only used to tell "the
// snap length cut this" from "this header lies".
#include "decode/decoder.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "decode/anomaly.hpp"
#include "decode/fragment_table.hpp"

namespace spamtap {

using decode_detail::Anomaly;
using decode_detail::FragmentKey;
using decode_detail::FragmentTable;

namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86DD;
constexpr uint16_t kEtherTypeVlan = 0x8100;
constexpr uint16_t kEtherTypeQinQ = 0x88A8;
constexpr uint16_t kEtherTypeQinQOld = 0x9100;
constexpr uint16_t kEtherTypeMplsUnicast = 0x8847;
constexpr uint16_t kEtherTypeMplsMulticast = 0x8848;
constexpr uint16_t kEtherTypePppoeSession = 0x8864;
constexpr uint16_t kEtherTypeTransparentBridging = 0x6558;  // Ethernet inside GRE
constexpr uint16_t kEtherTypeErspanTypeII = 0x88BE;         // also type I, without sequence
constexpr uint16_t kEtherTypeErspanTypeIII = 0x22EB;
constexpr uint16_t kPppIpv4 = 0x0021;
constexpr uint16_t kPppIpv6 = 0x0057;

constexpr size_t kEthernetHeaderLength = 14;
constexpr size_t kLinuxSllHeaderLength = 16;
constexpr size_t kLinuxSll2HeaderLength = 20;
constexpr size_t kLoopbackHeaderLength = 4;
constexpr size_t kMaxVlanTags = 8;
constexpr size_t kMaxMplsLabels = 16;
constexpr size_t kMaxIpv6ExtensionHeaders = 16;
// Encapsulations removed from one frame before it is called malformed; real
// networks nest two or three (ERSPAN of a GRE tunnel), never dozens.
constexpr size_t kMaxTunnelDepth = 4;

constexpr size_t kNflogHeaderLength = 4;
constexpr size_t kNflogTlvHeaderLength = 4;
constexpr uint16_t kNflogPayloadTlv = 9;  // NFULA_PAYLOAD: the logged packet
constexpr uint8_t kNflogFamilyInet = 2;
constexpr uint8_t kNflogFamilyInet6 = 10;

constexpr uint16_t kGreChecksumPresent = 0x8000;
constexpr uint16_t kGreRoutingPresent = 0x4000;
constexpr uint16_t kGreKeyPresent = 0x2000;
constexpr uint16_t kGreSequencePresent = 0x1000;
constexpr uint16_t kGreVersionMask = 0x0007;
constexpr size_t kErspanTypeIIHeaderLength = 8;
constexpr size_t kErspanTypeIIIHeaderLength = 12;
constexpr size_t kErspanTypeIIIPlatformLength = 8;  // optional sub-header (O bit)
constexpr uint8_t kErspanTruncatedBit = 0x04;  // in the third header byte, II and III
constexpr uint8_t kErspanFrameEthernet = 0;
constexpr uint8_t kErspanFrameIp = 2;

// BSD address families for IPv6 differ between systems (NetBSD/OpenBSD, FreeBSD,
// macOS); IPv4 is 2 everywhere.
constexpr uint32_t kFamilyInet = 2;
constexpr uint32_t kFamilyInet6Bsd = 24;
constexpr uint32_t kFamilyInet6FreeBsd = 28;
constexpr uint32_t kFamilyInet6Darwin = 30;

constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6AuthenticationHeader = 51;
constexpr uint8_t kIpv6DestinationOptions = 60;
constexpr uint8_t kIpv6Mobility = 135;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>((p[1] << 8) | p[0]); }
uint32_t be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
uint32_t le32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[3]) << 24) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[1]) << 8) | p[0];
}

enum class Network { kIpv4, kIpv6, kByVersion, kNone, kUnsupportedLink };

// Where the network layer starts in the frame, or why there is none. Most link
// layers run to the end of the frame; NFLOG ends the packet with its TLV.
struct LinkResult {
  Network network = Network::kNone;
  size_t offset = 0;
  size_t captured_end = SIZE_MAX;  // bytes of the frame that belong to the packet
  size_t wire_end = SIZE_MAX;      // the same, as it was on the wire
  Anomaly anomaly = Anomaly::kCount;  // set when the link layer itself is broken
};

LinkResult broken(Anomaly anomaly) {
  LinkResult result;
  result.anomaly = anomaly;
  return result;
}

LinkResult network_at(Network network, size_t offset) {
  LinkResult result;
  result.network = network;
  result.offset = offset;
  return result;
}

// Follows an EtherType through VLAN tags, MPLS labels and PPPoE to IP.
LinkResult from_ether_type(uint16_t ether_type, const uint8_t* data, size_t length,
                           size_t offset) {
  for (size_t tags = 0;; ++tags) {
    if (ether_type != kEtherTypeVlan && ether_type != kEtherTypeQinQ &&
        ether_type != kEtherTypeQinQOld) {
      break;
    }
    if (tags == kMaxVlanTags) return broken(Anomaly::kVlanTooDeep);
    if (length - offset < 4) return broken(Anomaly::kVlanTruncated);
    ether_type = be16(data + offset + 2);
    offset += 4;
  }

  switch (ether_type) {
    case kEtherTypeIpv4:
      return network_at(Network::kIpv4, offset);
    case kEtherTypeIpv6:
      return network_at(Network::kIpv6, offset);
    case kEtherTypeMplsUnicast:
    case kEtherTypeMplsMulticast:
      for (size_t labels = 0;; ++labels) {
        if (labels == kMaxMplsLabels) return broken(Anomaly::kMplsTooDeep);
        if (length - offset < 4) return broken(Anomaly::kMplsTruncated);
        bool bottom_of_stack = (data[offset + 2] & 0x01) != 0;
        offset += 4;
        if (bottom_of_stack) break;
      }
      // MPLS does not say what it carries; the IP version nibble does.
      return network_at(Network::kByVersion, offset);
    case kEtherTypePppoeSession: {
      if (length - offset < 8) return broken(Anomaly::kPppoeTruncated);
      uint16_t protocol = be16(data + offset + 6);
      offset += 8;
      if (protocol == kPppIpv4) return network_at(Network::kIpv4, offset);
      if (protocol == kPppIpv6) return network_at(Network::kIpv6, offset);
      return network_at(Network::kNone, offset);
    }
    default:
      return network_at(Network::kNone, offset);
  }
}

// NFLOG: family, version and resource id, then TLVs of (length, type, value)
// padded to 4 bytes; the length counts the TLV's own 4-byte header. Lengths and
// types are in the byte order of the host that logged, which the frame does not
// record. Real types are small (1 to a few dozen), so the first TLV's type has
// one zero byte and one non-zero byte, and which is which gives the order.
LinkResult from_nflog(const uint8_t* data, size_t length, size_t wire_length) {
  if (length < kNflogHeaderLength + kNflogTlvHeaderLength) {
    return broken(Anomaly::kNflogTruncated);
  }
  Network network = Network::kByVersion;
  if (data[0] == kNflogFamilyInet) network = Network::kIpv4;
  if (data[0] == kNflogFamilyInet6) network = Network::kIpv6;

  // The top bit of a type marks a nested attribute.
  constexpr uint16_t kTypeMask = 0x7fff;
  const uint8_t* first = data + kNflogHeaderLength;
  bool little_endian = false;
  if (uint16_t type = le16(first + 2) & kTypeMask; type != 0 && type < 0x100) {
    little_endian = true;
  } else if (type = be16(first + 2) & kTypeMask; type == 0 || type >= 0x100) {
    return broken(Anomaly::kNflogBadTlv);
  }

  size_t offset = kNflogHeaderLength;
  while (length - offset >= kNflogTlvHeaderLength) {
    const uint8_t* tlv = data + offset;
    size_t tlv_length = little_endian ? le16(tlv) : be16(tlv);
    uint16_t type = (little_endian ? le16(tlv + 2) : be16(tlv + 2)) & kTypeMask;
    if (tlv_length < kNflogTlvHeaderLength) return broken(Anomaly::kNflogBadTlv);

    // A TLV cut by the snap length is normal; one longer than the frame was on
    // the wire is not.
    bool cut = tlv_length > length - offset;
    if (cut && offset + tlv_length > wire_length) return broken(Anomaly::kNflogBadTlv);
    if (type == kNflogPayloadTlv) {
      LinkResult result = network_at(network, offset + kNflogTlvHeaderLength);
      result.captured_end = cut ? length : offset + tlv_length;
      result.wire_end = offset + tlv_length;
      return result;
    }
    if (cut) return broken(Anomaly::kNflogTruncated);  // the packet was not captured
    offset += std::min((tlv_length + 3) & ~size_t{3}, length - offset);
  }
  // A log entry without the packet (a rule that logs only metadata).
  return network_at(Network::kNone, length);
}

Network from_address_family(uint32_t family) {
  if (family == kFamilyInet) return Network::kIpv4;
  if (family == kFamilyInet6Bsd || family == kFamilyInet6FreeBsd ||
      family == kFamilyInet6Darwin) {
    return Network::kIpv6;
  }
  return Network::kNone;
}

}  // namespace

struct Decoder::State {
  explicit State(const DecodeLimits& limits) : limits(limits), fragments(limits) {}

  DecodeLimits limits;
  FragmentTable fragments;
  // The last datagram made whole at each tunnel depth: an inner datagram may be
  // reassembled while the outer one is still being read.
  std::array<std::vector<uint8_t>, kMaxTunnelDepth + 1> reassembled;
  size_t tunnel_depth = 0;  // of the datagram being read, in the current frame
  // The current datagram's header claims more than the frame held on the wire;
  // a transport header cut short is then a lie, not the snap length.
  bool length_lies = false;
  std::array<uint64_t, decode_detail::kAnomalyCount> counts{};
  mutable std::map<std::string, uint64_t> named_counts;
  uint64_t frames = 0;
  uint64_t not_ip = 0;

  DecodeStatus malformed(Anomaly anomaly) {
    note(anomaly);
    return DecodeStatus::kMalformed;
  }
  void note(Anomaly anomaly) { ++counts[static_cast<size_t>(anomaly)]; }

  LinkResult link_layer(const Frame& frame);
  DecodeStatus network_layer(Network network, const uint8_t* data, size_t captured,
                             size_t wire, Timestamp now, Packet* packet);
  DecodeStatus ipv4(const uint8_t* data, size_t captured, size_t wire, Timestamp now,
                    Packet* packet);
  DecodeStatus ipv6(const uint8_t* data, size_t captured, size_t wire, Timestamp now,
                    Packet* packet);
  DecodeStatus ipv6_headers(uint8_t next_header, const uint8_t* data, size_t offset,
                            size_t end, size_t declared_end, bool reassembled, Timestamp now,
                            Packet* packet);
  DecodeStatus ip_payload(uint8_t protocol, const uint8_t* data, size_t captured,
                          size_t declared, Timestamp now, Packet* packet);
  DecodeStatus tunnel(const LinkResult& inner, const uint8_t* data, size_t captured,
                      size_t declared, Timestamp now, Packet* packet,
                      bool cut_by_mirror = false);
  DecodeStatus gre(const uint8_t* data, size_t captured, size_t declared, Timestamp now,
                   Packet* packet);
  DecodeStatus transport(uint8_t protocol, const uint8_t* data, size_t captured,
                         size_t declared, Packet* packet);
  DecodeStatus tcp(const uint8_t* data, size_t captured, size_t declared, Packet* packet);
};

LinkResult Decoder::State::link_layer(const Frame& frame) {
  const uint8_t* data = frame.data;
  size_t length = frame.captured_length;

  switch (frame.link_type) {
    case link_type::kEthernet:
      if (length < kEthernetHeaderLength) return broken(Anomaly::kEthernetTruncated);
      return from_ether_type(be16(data + 12), data, length, kEthernetHeaderLength);
    case link_type::kLinuxSll:
      if (length < kLinuxSllHeaderLength) return broken(Anomaly::kLinuxSllTruncated);
      return from_ether_type(be16(data + 14), data, length, kLinuxSllHeaderLength);
    case link_type::kLinuxSll2:
      if (length < kLinuxSll2HeaderLength) return broken(Anomaly::kLinuxSll2Truncated);
      return from_ether_type(be16(data), data, length, kLinuxSll2HeaderLength);
    case link_type::kRaw:
    case link_type::kRawAlt:
      return network_at(Network::kByVersion, 0);
    case link_type::kIpv4:
      return network_at(Network::kIpv4, 0);
    case link_type::kIpv6:
      return network_at(Network::kIpv6, 0);
    case link_type::kNflog:
      return from_nflog(data, length, frame.wire_length > length ? frame.wire_length : length);
    case link_type::kNull:
    case link_type::kLoop: {
      // NULL stores the family in the capturing host's byte order, which the file
      // does not record; LOOP should be big-endian but is not always.
      if (length < kLoopbackHeaderLength) return broken(Anomaly::kLoopbackTruncated);
      Network network = from_address_family(le32(data));
      if (network == Network::kNone) network = from_address_family(be32(data));
      return network_at(network, kLoopbackHeaderLength);
    }
    default:
      return network_at(Network::kUnsupportedLink, 0);
  }
}

DecodeStatus Decoder::State::network_layer(Network network, const uint8_t* data,
                                           size_t captured, size_t wire, Timestamp now,
                                           Packet* packet) {
  if (network == Network::kByVersion) {
    if (captured < 1) return malformed(Anomaly::kIpBadVersion);
    uint8_t version = data[0] >> 4;
    if (version == 4) {
      network = Network::kIpv4;
    } else if (version == 6) {
      network = Network::kIpv6;
    } else {
      return malformed(Anomaly::kIpBadVersion);
    }
  }
  if (network == Network::kIpv4) return ipv4(data, captured, wire, now, packet);
  return ipv6(data, captured, wire, now, packet);
}

DecodeStatus Decoder::State::ipv4(const uint8_t* data, size_t captured, size_t wire,
                                  Timestamp now, Packet* packet) {
  if (captured < 20) return malformed(Anomaly::kIpv4TruncatedHeader);
  if ((data[0] >> 4) != 4) return malformed(Anomaly::kIpBadVersion);
  size_t header_length = static_cast<size_t>(data[0] & 0x0f) * 4;
  if (header_length < 20) return malformed(Anomaly::kIpv4BadHeaderLength);
  if (header_length > captured) return malformed(Anomaly::kIpv4TruncatedHeader);
  size_t total_length = be16(data + 2);
  if (total_length < header_length) return malformed(Anomaly::kIpv4BadTotalLength);

  // A header longer than the frame is a lie only when the wire length agrees the
  // frame was shorter; otherwise the snap length cut it and that is normal.
  size_t end = total_length;
  length_lies = total_length > wire;
  if (end > captured) {
    if (length_lies) note(Anomaly::kIpv4TotalLengthExceedsCapture);
    end = captured;
  }

  packet->source = IpAddress::v4_bytes(data + 12);
  packet->destination = IpAddress::v4_bytes(data + 16);
  packet->protocol = data[9];
  packet->ip_length = static_cast<uint32_t>(total_length);

  uint16_t flags_and_offset = be16(data + 6);
  bool more_fragments = (flags_and_offset & 0x2000) != 0;
  uint32_t fragment_offset = static_cast<uint32_t>(flags_and_offset & 0x1fff) * 8;
  if (!more_fragments && fragment_offset == 0) {
    return ip_payload(data[9], data + header_length, end - header_length,
                      total_length - header_length, now, packet);
  }

  if (end < total_length) return malformed(Anomaly::kFragmentTruncated);
  FragmentKey key;
  key.source = packet->source;
  key.destination = packet->destination;
  key.identification = be16(data + 4);
  key.protocol = data[9];
  decode_detail::Fragment fragment;
  fragment.offset = fragment_offset;
  fragment.bytes = data + header_length;
  fragment.length = static_cast<uint32_t>(total_length - header_length);
  fragment.more_fragments = more_fragments;
  fragment.header_length = static_cast<uint32_t>(header_length);
  fragment.next_header = data[9];

  std::vector<uint8_t>& whole = reassembled[tunnel_depth];
  FragmentTable::Result result = fragments.add(key, now, fragment, &whole);
  if (result.outcome == FragmentTable::Outcome::kRejected) return malformed(result.anomaly);
  if (result.outcome == FragmentTable::Outcome::kHeld) return DecodeStatus::kFragmentHeld;

  packet->ip_length = result.datagram.header_length + static_cast<uint32_t>(whole.size());
  length_lies = false;
  return ip_payload(data[9], whole.data(), whole.size(), whole.size(), now, packet);
}

DecodeStatus Decoder::State::ipv6(const uint8_t* data, size_t captured, size_t wire,
                                  Timestamp now, Packet* packet) {
  if (captured < 40) return malformed(Anomaly::kIpv6TruncatedHeader);
  if ((data[0] >> 4) != 6) return malformed(Anomaly::kIpBadVersion);

  // LIMITATION: jumbograms (payload length 0 with a jumbo option) are read as a
  // header with an empty payload.
  size_t total_length = 40 + static_cast<size_t>(be16(data + 4));
  size_t end = total_length;
  length_lies = total_length > wire;
  if (end > captured) {
    if (length_lies) note(Anomaly::kIpv6PayloadLengthExceedsCapture);
    end = captured;
  }

  packet->source = IpAddress::v6_bytes(data + 8);
  packet->destination = IpAddress::v6_bytes(data + 24);
  packet->ip_length = static_cast<uint32_t>(total_length);
  return ipv6_headers(data[6], data, 40, end, total_length, false, now, packet);
}

// Walks the extension headers from `offset`; `end` is what was captured of the
// datagram and `declared_end` what its header claims.
DecodeStatus Decoder::State::ipv6_headers(uint8_t next_header, const uint8_t* data,
                                          size_t offset, size_t end, size_t declared_end,
                                          bool reassembled_already, Timestamp now,
                                          Packet* packet) {
  for (size_t count = 0;; ++count) {
    if (count == kMaxIpv6ExtensionHeaders) {
      return malformed(Anomaly::kIpv6TooManyExtensionHeaders);
    }
    size_t header_length = 0;
    switch (next_header) {
      case kIpv6HopByHop:
      case kIpv6Routing:
      case kIpv6DestinationOptions:
      case kIpv6Mobility:
        if (end - offset < 2) return malformed(Anomaly::kIpv6TruncatedExtensionHeader);
        header_length = (static_cast<size_t>(data[offset + 1]) + 1) * 8;
        break;
      case kIpv6AuthenticationHeader:
        if (end - offset < 2) return malformed(Anomaly::kIpv6TruncatedExtensionHeader);
        header_length = (static_cast<size_t>(data[offset + 1]) + 2) * 4;
        break;
      case kIpv6Fragment:
        header_length = 8;
        break;
      default:
        return ip_payload(next_header, data + offset, end - offset, declared_end - offset,
                          now, packet);
    }
    if (end - offset < header_length) return malformed(Anomaly::kIpv6TruncatedExtensionHeader);

    if (next_header == kIpv6Fragment) {
      uint16_t offset_and_flags = be16(data + offset + 2);
      uint32_t fragment_offset = offset_and_flags & 0xfff8;
      bool more_fragments = (offset_and_flags & 0x0001) != 0;
      if (fragment_offset != 0 || more_fragments) {
        if (reassembled_already) return malformed(Anomaly::kIpv6NestedFragment);
        if (end < declared_end) return malformed(Anomaly::kFragmentTruncated);

        FragmentKey key;
        key.source = packet->source;
        key.destination = packet->destination;
        key.identification = be32(data + offset + 4);
        key.is_v6 = true;
        decode_detail::Fragment fragment;
        fragment.offset = fragment_offset;
        fragment.bytes = data + offset + 8;
        fragment.length = static_cast<uint32_t>(declared_end - offset - 8);
        fragment.more_fragments = more_fragments;
        fragment.header_length = static_cast<uint32_t>(offset);
        fragment.next_header = data[offset];

        std::vector<uint8_t>& whole = reassembled[tunnel_depth];
        FragmentTable::Result result = fragments.add(key, now, fragment, &whole);
        if (result.outcome == FragmentTable::Outcome::kRejected) {
          return malformed(result.anomaly);
        }
        if (result.outcome == FragmentTable::Outcome::kHeld) return DecodeStatus::kFragmentHeld;

        packet->ip_length = result.datagram.header_length + static_cast<uint32_t>(whole.size());
        length_lies = false;
        return ipv6_headers(result.datagram.next_header, whole.data(), 0, whole.size(),
                            whole.size(), true, now, packet);
      }
    }
    next_header = data[offset];
    offset += header_length;
  }
}

// The payload of an IP datagram: `captured` bytes are present of the `declared`
// the IP header gives it. Tunnels go one level deeper; the rest is transport.
DecodeStatus Decoder::State::ip_payload(uint8_t protocol, const uint8_t* data,
                                        size_t captured, size_t declared, Timestamp now,
                                        Packet* packet) {
  switch (protocol) {
    case ip_protocol::kIpInIp:
      return tunnel(network_at(Network::kIpv4, 0), data, captured, declared, now, packet);
    case ip_protocol::kIpv6InIp:
      return tunnel(network_at(Network::kIpv6, 0), data, captured, declared, now, packet);
    case ip_protocol::kGre:
      return gre(data, captured, declared, now, packet);
    default:
      return transport(protocol, data, captured, declared, packet);
  }
}

// Decodes the datagram that `inner` finds inside a tunnel payload; it replaces the
// outer addresses and lengths in `packet`.
DecodeStatus Decoder::State::tunnel(const LinkResult& inner, const uint8_t* data,
                                    size_t captured, size_t declared, Timestamp now,
                                    Packet* packet, bool cut_by_mirror) {
  if (inner.anomaly != Anomaly::kCount) return malformed(inner.anomaly);
  if (tunnel_depth == kMaxTunnelDepth) return malformed(Anomaly::kTunnelTooDeep);
  ++tunnel_depth;
  packet->tunnel_depth = static_cast<uint8_t>(tunnel_depth);
  // The outer header's length is the inner datagram's wire: an inner length
  // beyond it is a lie even when the snap length cut the frame. A mirror session
  // that truncates what it copies says so, and then the inner wire is unknown.
  size_t wire = cut_by_mirror ? SIZE_MAX : declared - inner.offset;
  return network_layer(inner.network, data + inner.offset, captured - inner.offset, wire, now,
                       packet);
}

// GRE (RFC 2784 with the RFC 2890 key and sequence number) carrying IP, Ethernet,
// or ERSPAN mirror traffic. A GRE payload that is not IP leaves the packet as the
// outer GRE datagram, so the tunnel itself is still seen as traffic.
DecodeStatus Decoder::State::gre(const uint8_t* data, size_t captured, size_t declared,
                                 Timestamp now, Packet* packet) {
  if (captured < 4) return malformed(Anomaly::kGreTruncated);
  uint16_t flags = be16(data);
  uint16_t protocol = be16(data + 2);
  // LIMITATION: GRE version 1 (PPTP) and RFC 1701 source routing are not
  // followed; such packets stay outer GRE datagrams.
  if ((flags & kGreVersionMask) != 0 || (flags & kGreRoutingPresent) != 0) {
    note(Anomaly::kGreUnsupportedHeader);
    return transport(ip_protocol::kGre, data, captured, declared, packet);
  }
  size_t offset = 4;
  if (flags & kGreChecksumPresent) offset += 4;
  if (flags & kGreKeyPresent) offset += 4;
  if (flags & kGreSequencePresent) offset += 4;
  if (captured < offset || declared < offset) return malformed(Anomaly::kGreTruncated);

  bool ethernet = false;
  bool cut_by_mirror = false;  // the ERSPAN T bit: the mirrored frame was truncated
  switch (protocol) {
    case kEtherTypeTransparentBridging:
      ethernet = true;
      break;
    case kEtherTypeErspanTypeII:
      // Type II has a sequence number and an 8-byte header; type I has neither.
      if (flags & kGreSequencePresent) {
        if (captured - offset < kErspanTypeIIHeaderLength) {
          return malformed(Anomaly::kErspanTruncated);
        }
        cut_by_mirror = (data[offset + 2] & kErspanTruncatedBit) != 0;
        offset += kErspanTypeIIHeaderLength;
      }
      ethernet = true;
      break;
    case kEtherTypeErspanTypeIII: {
      if (captured - offset < kErspanTypeIIIHeaderLength) {
        return malformed(Anomaly::kErspanTruncated);
      }
      cut_by_mirror = (data[offset + 2] & kErspanTruncatedBit) != 0;
      uint8_t frame_type = (data[offset + 10] >> 2) & 0x1f;
      bool platform_header = (data[offset + 11] & 0x01) != 0;
      offset += kErspanTypeIIIHeaderLength;
      if (platform_header) offset += kErspanTypeIIIPlatformLength;
      if (frame_type == kErspanFrameIp) {
        if (captured < offset || declared < offset) return malformed(Anomaly::kErspanTruncated);
        return tunnel(network_at(Network::kByVersion, offset), data, captured, declared, now,
                      packet, cut_by_mirror);
      }
      if (frame_type != kErspanFrameEthernet) {
        return transport(ip_protocol::kGre, data, captured, declared, packet);
      }
      ethernet = true;
      break;
    }
    default:
      break;
  }
  if (captured < offset || declared < offset) return malformed(Anomaly::kErspanTruncated);

  LinkResult inner;
  if (ethernet) {
    if (captured - offset < kEthernetHeaderLength) return malformed(Anomaly::kEthernetTruncated);
    inner = from_ether_type(be16(data + offset + 12), data, captured,
                            offset + kEthernetHeaderLength);
  } else {
    inner = from_ether_type(protocol, data, captured, offset);
  }
  if (inner.anomaly == Anomaly::kCount &&
      (inner.network == Network::kNone || inner.network == Network::kUnsupportedLink)) {
    return transport(ip_protocol::kGre, data, captured, declared, packet);
  }
  if (inner.anomaly == Anomaly::kCount && declared < inner.offset) {
    return malformed(Anomaly::kGreTruncated);
  }
  return tunnel(inner, data, captured, declared, now, packet, cut_by_mirror);
}

// TCP. A header cut short by the snap length still names its connection (the
// ports come first), so such a packet is kept and marked rather than dropped; a
// header cut short because the IP length says so is malformed.
DecodeStatus Decoder::State::tcp(const uint8_t* data, size_t captured, size_t declared,
                                 Packet* packet) {
  bool snapped = captured < declared && !length_lies;
  if (captured < 20) {
    if (!snapped || declared < 20 || captured < 4) {
      return malformed(Anomaly::kTcpTruncatedHeader);
    }
    note(Anomaly::kTcpHeaderCutBySnapLength);
    packet->source_port = be16(data);
    packet->destination_port = be16(data + 2);
    packet->transport_truncated = true;
    return DecodeStatus::kPacket;
  }

  size_t header_length = static_cast<size_t>(data[12] >> 4) * 4;
  if (header_length < 20 || header_length > declared) {
    return malformed(Anomaly::kTcpBadDataOffset);
  }
  if (header_length > captured) {
    // Only options are missing: every field the flow table reads is present.
    if (!snapped) return malformed(Anomaly::kTcpTruncatedHeader);
    note(Anomaly::kTcpOptionsCutBySnapLength);
  }
  packet->source_port = be16(data);
  packet->destination_port = be16(data + 2);
  packet->sequence = be32(data + 4);
  packet->acknowledgment = be32(data + 8);
  packet->tcp_flags = data[13];
  packet->window = be16(data + 14);
  size_t payload_start = header_length < captured ? header_length : captured;
  packet->payload = {data + payload_start, captured - payload_start};
  packet->payload_length = static_cast<uint32_t>(declared - header_length);
  return DecodeStatus::kPacket;
}

DecodeStatus Decoder::State::transport(uint8_t protocol, const uint8_t* data, size_t captured,
                                       size_t declared, Packet* packet) {
  packet->protocol = protocol;
  switch (protocol) {
    case ip_protocol::kTcp:
      return tcp(data, captured, declared, packet);
    case ip_protocol::kUdp: {
      if (captured < 8) return malformed(Anomaly::kUdpTruncatedHeader);
      size_t length = be16(data + 4);
      if (length < 8 || length > declared) return malformed(Anomaly::kUdpBadLength);
      packet->source_port = be16(data);
      packet->destination_port = be16(data + 2);
      size_t available = captured < length ? captured : length;
      packet->payload = {data + 8, available - 8};
      packet->payload_length = static_cast<uint32_t>(length - 8);
      return DecodeStatus::kPacket;
    }
    case ip_protocol::kIcmp:
    case ip_protocol::kIcmpV6: {
      if (captured < 4) return malformed(Anomaly::kIcmpTruncatedHeader);
      packet->source_port = data[0];
      packet->destination_port = data[1];
      // The message body follows the 8-byte header (type, code, checksum, rest).
      size_t header_length = captured < 8 ? captured : 8;
      packet->payload = {data + header_length, captured - header_length};
      packet->payload_length = static_cast<uint32_t>(declared > 8 ? declared - 8 : 0);
      return DecodeStatus::kPacket;
    }
    default:
      packet->payload = {data, captured};
      packet->payload_length = static_cast<uint32_t>(declared);
      return DecodeStatus::kPacket;
  }
}

Decoder::Decoder(DecodeLimits limits) : state_(std::make_unique<State>(limits)) {}
Decoder::~Decoder() = default;

DecodeStatus Decoder::decode(const Frame& frame, Packet* packet) {
  State& state = *state_;
  ++state.frames;
  *packet = Packet{};
  packet->time = frame.time;
  packet->wire_length = frame.wire_length;
  packet->captured_length = frame.captured_length;

  uint64_t timed_out = state.fragments.expire(frame.time);
  state.counts[static_cast<size_t>(Anomaly::kFragmentTimeout)] += timed_out;

  if (frame.data == nullptr || frame.captured_length == 0) {
    return state.malformed(Anomaly::kFrameEmpty);
  }

  LinkResult link = state.link_layer(frame);
  if (link.network == Network::kUnsupportedLink) {
    state.note(Anomaly::kUnsupportedLinkType);
    return DecodeStatus::kUnsupportedLink;
  }
  if (link.anomaly != Anomaly::kCount) return state.malformed(link.anomaly);
  if (link.network == Network::kNone) {
    ++state.not_ip;
    return DecodeStatus::kNotIp;
  }

  size_t captured_end = std::min<size_t>(link.captured_end, frame.captured_length);
  size_t wire_end = std::min<size_t>(link.wire_end, frame.wire_length);
  const uint8_t* data = frame.data + link.offset;
  size_t captured = captured_end - link.offset;
  size_t wire = wire_end > link.offset ? wire_end - link.offset : 0;
  if (wire < captured) wire = captured;

  state.tunnel_depth = 0;
  state.length_lies = false;
  return state.network_layer(link.network, data, captured, wire, frame.time, packet);
}

const std::map<std::string, uint64_t>& Decoder::anomalies() const {
  auto& named = state_->named_counts;
  for (size_t i = 0; i < decode_detail::kAnomalyCount; ++i) {
    if (state_->counts[i] == 0) continue;
    named[std::string(decode_detail::anomaly_name(static_cast<Anomaly>(i)))] =
        state_->counts[i];
  }
  return named;
}

uint64_t Decoder::frames() const { return state_->frames; }
uint64_t Decoder::not_ip() const { return state_->not_ip; }

}  // namespace spamtap

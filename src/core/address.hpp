// IpAddress: an IPv4 or IPv6 address held in 16 bytes, cheap to copy and hash.
// Every stage uses it for hosts; parsing and printing live here so that the text
// form is the same in the store, the reports and the alerts.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spamtap {

class IpAddress {
 public:
  IpAddress() = default;

  static IpAddress v4(uint32_t host_order);
  static IpAddress v4_bytes(const uint8_t* network_order);
  static IpAddress v6_bytes(const uint8_t* network_order);
  // Accepts dotted IPv4 and any RFC 4291 IPv6 text form (compressed or zero-padded).
  static std::optional<IpAddress> parse(std::string_view text);

  bool is_v6() const { return is_v6_; }
  // IPv4 addresses sit in the last four bytes; the first twelve are zero.
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  uint32_t v4_value() const;  // host order; only meaningful for IPv4
  int bit_width() const { return is_v6_ ? 128 : 32; }
  // Bit `index` counted from the most significant bit of the address (0-based).
  bool bit(int index) const;

  std::string to_string() const;

  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    return a.is_v6_ == b.is_v6_ && a.bytes_ == b.bytes_;
  }
  friend bool operator<(const IpAddress& a, const IpAddress& b) {
    if (a.is_v6_ != b.is_v6_) return !a.is_v6_;
    return std::memcmp(a.bytes_.data(), b.bytes_.data(), 16) < 0;
  }

  uint64_t hash() const;

 private:
  std::array<uint8_t, 16> bytes_{};
  bool is_v6_ = false;
};

// The canonical text of an address typed by an operator ("FE80:0::1" -> "fe80::1"), as
// the store writes it; nullopt when the text is not an address.
std::optional<std::string> canonical_address(std::string_view text);

// A network prefix: address plus length, with host bits cleared.
struct Cidr {
  IpAddress network;
  int prefix_length = 0;

  // "10.0.0.0/8", "2001:db8::/32" or a bare address (full length). Sets
  // `had_host_bits` when the text had bits set below the prefix.
  static std::optional<Cidr> parse(std::string_view text, bool* had_host_bits = nullptr);
  bool contains(const IpAddress& address) const;
  std::string to_string() const;
};

// The private and unique-local ranges: RFC 1918, RFC 6598 shared space, link-local
// and loopback for IPv4; fc00::/7, fe80::/10 and ::1 for IPv6.
std::vector<Cidr> default_home_networks();

class HomeNetworks {
 public:
  HomeNetworks() : networks_(default_home_networks()) {}
  explicit HomeNetworks(std::vector<Cidr> networks) : networks_(std::move(networks)) {}
  // "10.0.0.0/8,192.168.0.0/16"; returns nullopt and the bad element in `error`.
  static std::optional<HomeNetworks> parse_list(std::string_view text, std::string* error);
  bool contains(const IpAddress& address) const;
  const std::vector<Cidr>& networks() const { return networks_; }

 private:
  std::vector<Cidr> networks_;
};

}  // namespace spamtap

template <>
struct std::hash<spamtap::IpAddress> {
  size_t operator()(const spamtap::IpAddress& a) const noexcept { return a.hash(); }
};

#include "core/address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace spamtap {

IpAddress IpAddress::v4(uint32_t host_order) {
  IpAddress address;
  address.bytes_[12] = static_cast<uint8_t>(host_order >> 24);
  address.bytes_[13] = static_cast<uint8_t>(host_order >> 16);
  address.bytes_[14] = static_cast<uint8_t>(host_order >> 8);
  address.bytes_[15] = static_cast<uint8_t>(host_order);
  return address;
}

IpAddress IpAddress::v4_bytes(const uint8_t* network_order) {
  IpAddress address;
  std::memcpy(address.bytes_.data() + 12, network_order, 4);
  return address;
}

IpAddress IpAddress::v6_bytes(const uint8_t* network_order) {
  IpAddress address;
  std::memcpy(address.bytes_.data(), network_order, 16);
  address.is_v6_ = true;
  return address;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buffer[64];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  uint8_t raw[16];
  if (text.find(':') != std::string_view::npos) {
    if (inet_pton(AF_INET6, buffer, raw) != 1) return std::nullopt;
    return v6_bytes(raw);
  }
  if (inet_pton(AF_INET, buffer, raw) != 1) return std::nullopt;
  return v4_bytes(raw);
}

uint32_t IpAddress::v4_value() const {
  return (uint32_t{bytes_[12]} << 24) | (uint32_t{bytes_[13]} << 16) | (uint32_t{bytes_[14]} << 8) |
         uint32_t{bytes_[15]};
}

bool IpAddress::bit(int index) const {
  int offset = is_v6_ ? index : index + 96;
  return (bytes_[offset / 8] >> (7 - offset % 8)) & 1;
}

std::string IpAddress::to_string() const {
  char buffer[INET6_ADDRSTRLEN];
  if (is_v6_) {
    inet_ntop(AF_INET6, bytes_.data(), buffer, sizeof buffer);
  } else {
    inet_ntop(AF_INET, bytes_.data() + 12, buffer, sizeof buffer);
  }
  return buffer;
}

uint64_t IpAddress::hash() const {
  uint64_t high;
  uint64_t low;
  std::memcpy(&high, bytes_.data(), 8);
  std::memcpy(&low, bytes_.data() + 8, 8);
  uint64_t h = high * 0x9E3779B97F4A7C15ULL ^ (low + (is_v6_ ? 0x5bd1e995 : 0));
  h ^= h >> 31;
  h *= 0xBF58476D1CE4E5B9ULL;
  h ^= h >> 29;
  return h;
}

std::optional<std::string> canonical_address(std::string_view text) {
  auto address = IpAddress::parse(text);
  if (!address) return std::nullopt;
  return address->to_string();
}

std::optional<Cidr> Cidr::parse(std::string_view text, bool* had_host_bits) {
  if (had_host_bits) *had_host_bits = false;
  auto slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  int length = address->bit_width();
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (error != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
      return std::nullopt;
    }
    if (length < 0 || length > address->bit_width()) return std::nullopt;
  }

  auto bytes = address->bytes();
  int first_bit = address->is_v6() ? 0 : 96;
  bool host_bits = false;
  for (int bit = first_bit + length; bit < 128; ++bit) {
    uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
    if (bytes[bit / 8] & mask) {
      host_bits = true;
      bytes[bit / 8] &= static_cast<uint8_t>(~mask);
    }
  }
  if (had_host_bits) *had_host_bits = host_bits;
  Cidr cidr;
  cidr.network =
      address->is_v6() ? IpAddress::v6_bytes(bytes.data()) : IpAddress::v4_bytes(bytes.data() + 12);
  cidr.prefix_length = length;
  return cidr;
}

bool Cidr::contains(const IpAddress& address) const {
  if (address.is_v6() != network.is_v6()) return false;
  const auto& a = address.bytes();
  const auto& n = network.bytes();
  int first_bit = address.is_v6() ? 0 : 96;
  int last_bit = first_bit + prefix_length;
  int bit = first_bit;
  for (; bit + 8 <= last_bit; bit += 8) {
    if (a[bit / 8] != n[bit / 8]) return false;
  }
  if (bit < last_bit) {
    uint8_t mask = static_cast<uint8_t>(0xFF << (8 - (last_bit - bit)));
    if ((a[bit / 8] & mask) != (n[bit / 8] & mask)) return false;
  }
  return true;
}

std::string Cidr::to_string() const {
  return network.to_string() + "/" + std::to_string(prefix_length);
}

std::vector<Cidr> default_home_networks() {
  std::vector<Cidr> networks;
  for (const char* text : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                           "169.254.0.0/16", "127.0.0.0/8", "fc00::/7", "fe80::/10", "::1/128"}) {
    networks.push_back(*Cidr::parse(text));
  }
  return networks;
}

std::optional<HomeNetworks> HomeNetworks::parse_list(std::string_view text, std::string* error) {
  std::vector<Cidr> networks;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      auto cidr = Cidr::parse(item);
      if (!cidr) {
        if (error) *error = std::string(item);
        return std::nullopt;
      }
      networks.push_back(*cidr);
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return HomeNetworks(std::move(networks));
}

bool HomeNetworks::contains(const IpAddress& address) const {
  for (const auto& network : networks_) {
    if (network.contains(address)) return true;
  }
  return false;
}

}  // namespace spamtap

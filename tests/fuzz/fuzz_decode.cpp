// libFuzzer target: the input is one captured frame, decoded once under each link
// type the decoder knows. The bytes are copied to a block of exactly their size so
// that any read past the captured length is caught. Decoders live across inputs so
// fragment reassembly state is exercised too.
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "decode/decoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr int kLinkTypes[] = {
      spamtap::link_type::kNull,     spamtap::link_type::kEthernet,  spamtap::link_type::kRaw,
      spamtap::link_type::kRawAlt,   spamtap::link_type::kLoop,      spamtap::link_type::kLinuxSll,
      spamtap::link_type::kIpv4,     spamtap::link_type::kIpv6,      spamtap::link_type::kLinuxSll2,
      spamtap::link_type::kNflog,
  };
  static spamtap::Decoder* decoder = [] {
    spamtap::DecodeLimits limits;
    limits.max_fragment_bytes = 1 << 20;
    limits.max_fragment_datagrams = 64;
    return new spamtap::Decoder(limits);
  }();
  static int64_t clock = 0;

  std::unique_ptr<uint8_t[]> copy(new uint8_t[size == 0 ? 1 : size]);
  if (size > 0) std::memcpy(copy.get(), data, size);

  for (int link : kLinkTypes) {
    spamtap::Frame frame;
    frame.data = copy.get();
    frame.captured_length = static_cast<uint32_t>(size);
    frame.wire_length = static_cast<uint32_t>(size) + (size > 0 ? data[0] : 0);
    frame.link_type = link;
    frame.time = clock;
    clock += spamtap::kNanosPerSecond / 100;
    spamtap::Packet packet;
    if (decoder->decode(frame, &packet) == spamtap::DecodeStatus::kPacket) {
      // Touch every payload byte the decoder handed out.
      volatile uint8_t sink = 0;
      for (uint8_t byte : packet.payload) sink = sink ^ byte;
      (void)sink;
    }
  }
  return 0;
}

// libFuzzer target: the input is a capture file. It is written to a temporary file
// and read front to back through CaptureFile and Decoder.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "capture/capture_file.hpp"
#include "decode/decoder.hpp"

namespace {

std::string temporary_path() {
  static std::string path = [] {
    const char* directory = std::getenv("TMPDIR");
    std::string base = directory != nullptr ? directory : "/tmp";
    return base + "/spamtap-fuzz-capture-" + std::to_string(getpid());
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = temporary_path();
  FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return 0;
  if (size > 0) std::fwrite(data, 1, size, file);
  std::fclose(file);

  std::string error;
  auto capture = spamtap::CaptureFile::open(path, "", &error);
  if (capture != nullptr) {
    spamtap::DecodeLimits limits;
    limits.max_fragment_bytes = 1 << 20;
    limits.max_fragment_datagrams = 64;
    spamtap::Decoder decoder(limits);
    spamtap::Frame frame;
    spamtap::Packet packet;
    while (capture->next(&frame) == spamtap::CaptureFile::ReadStatus::kFrame) {
      decoder.decode(frame, &packet);
    }
  }
  std::remove(path.c_str());
  return 0;
}

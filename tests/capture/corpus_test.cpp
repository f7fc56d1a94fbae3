// Reads every capture of the developer corpus through CaptureFile and Decoder: no
// crash, and as many frames as tshark counts in the same file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "capture/capture_file.hpp"
#include "decode/decoder.hpp"

namespace spamtap {
namespace {

std::vector<std::string> corpus_files() {
  std::vector<std::string> files;
  std::error_code ignored;
  std::filesystem::path root = std::filesystem::path(SPAMTAP_CORPUS_DIR) / "pcap";
  for (auto it = std::filesystem::recursive_directory_iterator(root, ignored);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ignored)) {
    if (it->is_regular_file()) files.push_back(it->path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool have_tshark() { return std::system("tshark -v >/dev/null 2>&1") == 0; }

// Frame count per tshark, or -1 when it could not be run.
long tshark_count(const std::string& path) {
  std::string quoted = "'";
  for (char c : path) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  std::string command = "tshark -r " + quoted + " -T fields -e frame.number 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  long lines = 0;
  int c;
  while ((c = std::fgetc(pipe)) != EOF) {
    if (c == '\n') ++lines;
  }
  pclose(pipe);
  return lines;
}

TEST(Corpus, EveryCaptureReadsAndDecodes) {
  std::vector<std::string> files = corpus_files();
  if (files.empty()) {
    GTEST_SKIP() << "no corpus under " << SPAMTAP_CORPUS_DIR "/pcap";
  }
  bool compare = have_tshark();
  if (!compare) std::printf("tshark not found: frame counts are not compared\n");

  uint64_t total_frames = 0;
  uint64_t total_packets = 0;
  std::map<std::string, uint64_t> anomalies;
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    std::string error;
    auto capture = CaptureFile::open(path, "", &error);
    ASSERT_NE(capture, nullptr) << error;

    Decoder decoder;
    Frame frame;
    Packet packet;
    long frames = 0;
    CaptureFile::ReadStatus status;
    while ((status = capture->next(&frame)) == CaptureFile::ReadStatus::kFrame) {
      ++frames;
      if (decoder.decode(frame, &packet) == DecodeStatus::kPacket) ++total_packets;
    }
    if (status == CaptureFile::ReadStatus::kError) {
      std::printf("%s\n", capture->error().c_str());
    }
    for (const auto& [name, count] : decoder.anomalies()) {
      anomalies[name] += count;
      std::printf("%s: %s %llu\n", path.c_str(), name.c_str(),
                  static_cast<unsigned long long>(count));
    }
    total_frames += static_cast<uint64_t>(frames);
    if (compare) {
      EXPECT_EQ(frames, tshark_count(path));
    }
  }
  std::printf("%zu files, %llu frames, %llu packets decoded\n", files.size(),
              static_cast<unsigned long long>(total_frames),
              static_cast<unsigned long long>(total_packets));
  for (const auto& [name, count] : anomalies) {
    std::printf("  %s: %llu\n", name.c_str(), static_cast<unsigned long long>(count));
  }
}

}  // namespace
}  // namespace spamtap

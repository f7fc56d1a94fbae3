// InputStream: the bytes of a capture file as a stdio FILE*, whatever the file is
// stored as. Plain files are read directly; gzip and zstd files (recognised by their
// magic bytes, not their names) are decompressed on the fly behind a fopencookie
// stream, so libpcap and the pcapng reader see the same uncompressed bytes.
// The first four uncompressed bytes are peeked at open so the caller can choose a
// reader; the stream still starts at byte 0.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace spamtap::capture_detail {

class InputStream {
 public:
  enum class Compression { kNone, kGzip, kZstd };

  // On failure returns nullptr and sets `error` ("FILE: cannot open: reason").
  static std::unique_ptr<InputStream> open(const std::string& path, std::string* error);
  ~InputStream();
  InputStream(const InputStream&) = delete;
  InputStream& operator=(const InputStream&) = delete;

  FILE* stream() const { return stream_; }
  // libpcap closes the FILE* it was given; after this the stream is not closed here.
  void give_up_stream_ownership() { owns_stream_ = false; }

  Compression compression() const { return compression_; }
  // The first uncompressed bytes (fewer than four when the file is that short).
  const std::array<uint8_t, 4>& magic() const { return magic_; }
  size_t magic_size() const { return magic_size_; }

  uint64_t file_size() const { return file_size_; }
  // Compressed bytes read so far; meaningful only for compressed input.
  uint64_t compressed_consumed() const;
  // Uncompressed bytes handed to the reader so far (compressed input only).
  uint64_t uncompressed_delivered() const { return delivered_; }
  // What the decompressor said when the compressed data ended badly; empty if fine.
  const std::string& decompression_error() const { return decompression_error_; }

 private:
  InputStream() = default;
  bool open_gzip(const std::string& path, std::string* error);
  bool open_zstd(const std::string& path, std::string* error);
  bool make_cookie_stream(const std::string& path, std::string* error);
  bool peek_magic();

  // Reads up to `size` decompressed bytes; returns -1 on a decompression error.
  ssize_t read_decompressed(char* buffer, size_t size);
  ssize_t read_gzip(char* buffer, size_t size);
  ssize_t read_zstd(char* buffer, size_t size);

  static ssize_t cookie_read(void* cookie, char* buffer, size_t size);
  static int cookie_seek(void* cookie, off64_t* offset, int whence);
  static int cookie_close(void* cookie);

  Compression compression_ = Compression::kNone;
  // stdio's default 4 KiB buffer costs one read() per 4 KiB, which dominated the
  // profile of a whole-file analysis; a large buffer makes that a few hundred calls.
  std::unique_ptr<char[]> raw_buffer_;
  FILE* raw_ = nullptr;     // the file on disk (plain and zstd)
  void* gzip_ = nullptr;    // gzFile
  void* zstd_ = nullptr;    // ZSTD_DStream
  std::unique_ptr<uint8_t[]> zstd_input_;
  size_t zstd_input_capacity_ = 0;
  size_t zstd_input_size_ = 0;
  size_t zstd_input_position_ = 0;
  bool zstd_frame_open_ = false;
  uint64_t raw_consumed_ = 0;

  FILE* stream_ = nullptr;
  bool owns_stream_ = true;
  std::array<uint8_t, 4> magic_{};
  size_t magic_size_ = 0;
  size_t replay_position_ = 0;  // magic bytes already handed back to the reader
  uint64_t delivered_ = 0;
  uint64_t file_size_ = 0;
  std::string decompression_error_;
};

}  // namespace spamtap::capture_detail

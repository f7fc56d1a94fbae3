#include "capture/input_stream.hpp"

#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#ifdef SPAMTAP_HAVE_ZSTD
#include <zstd.h>
#endif

namespace spamtap::capture_detail {

namespace {

constexpr uint8_t kGzipMagic[2] = {0x1f, 0x8b};
constexpr uint8_t kZstdMagic[4] = {0x28, 0xb5, 0x2f, 0xfd};
constexpr size_t kReadBufferBytes = 1 << 20;

std::string system_error(const std::string& path, const char* what) {
  return path + ": " + what + ": " + std::strerror(errno);
}

}  // namespace

std::unique_ptr<InputStream> InputStream::open(const std::string& path, std::string* error) {
  std::unique_ptr<InputStream> input(new InputStream());

  input->raw_ = std::fopen(path.c_str(), "rb");
  if (input->raw_ == nullptr) {
    *error = system_error(path, "cannot open");
    return nullptr;
  }
  input->raw_buffer_ = std::make_unique<char[]>(kReadBufferBytes);
  std::setvbuf(input->raw_, input->raw_buffer_.get(), _IOFBF, kReadBufferBytes);
  struct stat status {};
  if (fstat(fileno(input->raw_), &status) == 0) {
    if (S_ISDIR(status.st_mode)) {
      *error = path + ": is a directory, not a capture file";
      return nullptr;
    }
    if (S_ISREG(status.st_mode)) input->file_size_ = static_cast<uint64_t>(status.st_size);
  }

  uint8_t head[4] = {};
  size_t head_size = std::fread(head, 1, sizeof head, input->raw_);
  if (std::fseek(input->raw_, 0, SEEK_SET) != 0) {
    *error = system_error(path, "cannot rewind (capture files must be seekable)");
    return nullptr;
  }

  bool ok = true;
  if (head_size >= 2 && std::memcmp(head, kGzipMagic, 2) == 0) {
    ok = input->open_gzip(path, error);
  } else if (head_size >= 4 && std::memcmp(head, kZstdMagic, 4) == 0) {
    ok = input->open_zstd(path, error);
  } else {
    input->stream_ = input->raw_;
    input->raw_ = nullptr;
    std::memcpy(input->magic_.data(), head, head_size);
    input->magic_size_ = head_size;
  }
  if (!ok) return nullptr;
  return input;
}

InputStream::~InputStream() {
  if (stream_ != nullptr && owns_stream_) std::fclose(stream_);
  if (gzip_ != nullptr) gzclose(static_cast<gzFile>(gzip_));
#ifdef SPAMTAP_HAVE_ZSTD
  if (zstd_ != nullptr) ZSTD_freeDStream(static_cast<ZSTD_DStream*>(zstd_));
#endif
  if (raw_ != nullptr) std::fclose(raw_);
}

bool InputStream::open_gzip(const std::string& path, std::string* error) {
  compression_ = Compression::kGzip;
  std::fclose(raw_);
  raw_ = nullptr;
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    *error = system_error(path, "cannot open gzip stream");
    return false;
  }
  gzbuffer(file, 128 * 1024);
  gzip_ = file;
  return make_cookie_stream(path, error);
}

bool InputStream::open_zstd(const std::string& path, std::string* error) {
  compression_ = Compression::kZstd;
#ifdef SPAMTAP_HAVE_ZSTD
  ZSTD_DStream* stream = ZSTD_createDStream();
  if (stream == nullptr) {
    *error = path + ": cannot create zstd decompressor";
    return false;
  }
  zstd_ = stream;
  ZSTD_initDStream(stream);
  zstd_input_capacity_ = ZSTD_DStreamInSize();
  zstd_input_ = std::make_unique<uint8_t[]>(zstd_input_capacity_);
  return make_cookie_stream(path, error);
#else
  *error = path + ": zstd-compressed capture, but spamtap was built without zstd; "
                  "decompress it with `zstd -d` first";
  return false;
#endif
}

bool InputStream::make_cookie_stream(const std::string& path, std::string* error) {
  if (!peek_magic()) {
    *error = path + ": cannot decompress the start of the file: " + decompression_error_;
    return false;
  }
  cookie_io_functions_t functions{};
  functions.read = &InputStream::cookie_read;
  functions.seek = &InputStream::cookie_seek;
  functions.close = &InputStream::cookie_close;
  stream_ = fopencookie(this, "rb", functions);
  if (stream_ == nullptr) {
    *error = system_error(path, "cannot create decompressing stream");
    return false;
  }
  return true;
}

bool InputStream::peek_magic() {
  while (magic_size_ < magic_.size()) {
    ssize_t n = read_decompressed(reinterpret_cast<char*>(magic_.data()) + magic_size_,
                                  magic_.size() - magic_size_);
    if (n < 0) return false;
    if (n == 0) break;
    magic_size_ += static_cast<size_t>(n);
  }
  return true;
}

uint64_t InputStream::compressed_consumed() const {
  if (gzip_ != nullptr) {
    z_off_t offset = gzoffset(static_cast<gzFile>(gzip_));
    return offset < 0 ? 0 : static_cast<uint64_t>(offset);
  }
  return raw_consumed_;
}

ssize_t InputStream::read_decompressed(char* buffer, size_t size) {
  if (compression_ == Compression::kGzip) return read_gzip(buffer, size);
  return read_zstd(buffer, size);
}

ssize_t InputStream::read_gzip(char* buffer, size_t size) {
  gzFile file = static_cast<gzFile>(gzip_);
  unsigned chunk = size > (1u << 30) ? (1u << 30) : static_cast<unsigned>(size);
  int n = gzread(file, buffer, chunk);
  if (n > 0) return n;

  int code = Z_OK;
  const char* message = gzerror(file, &code);
  if (code != Z_OK && code != Z_STREAM_END) {
    decompression_error_ = std::string("gzip: ") + (message != nullptr ? message : "error");
    return n < 0 ? -1 : 0;
  }
  return n < 0 ? -1 : 0;
}

ssize_t InputStream::read_zstd(char* buffer, size_t size) {
#ifdef SPAMTAP_HAVE_ZSTD
  auto* stream = static_cast<ZSTD_DStream*>(zstd_);
  ZSTD_outBuffer output{buffer, size, 0};
  while (output.pos == 0) {
    if (zstd_input_position_ == zstd_input_size_) {
      zstd_input_size_ = std::fread(zstd_input_.get(), 1, zstd_input_capacity_, raw_);
      zstd_input_position_ = 0;
      raw_consumed_ += zstd_input_size_;
      if (zstd_input_size_ == 0) {
        if (zstd_frame_open_) {
          decompression_error_ = "zstd: compressed data ends in the middle of a frame";
          return -1;
        }
        return 0;
      }
    }
    ZSTD_inBuffer input{zstd_input_.get(), zstd_input_size_, zstd_input_position_};
    size_t result = ZSTD_decompressStream(stream, &output, &input);
    zstd_input_position_ = input.pos;
    if (ZSTD_isError(result)) {
      decompression_error_ = std::string("zstd: ") + ZSTD_getErrorName(result);
      return -1;
    }
    // A result of 0 means a frame just ended; another may follow.
    zstd_frame_open_ = result != 0;
  }
  return static_cast<ssize_t>(output.pos);
#else
  (void)buffer;
  (void)size;
  return -1;
#endif
}

ssize_t InputStream::cookie_read(void* cookie, char* buffer, size_t size) {
  auto* self = static_cast<InputStream*>(cookie);
  size_t copied = 0;
  while (self->replay_position_ < self->magic_size_ && copied < size) {
    buffer[copied++] = static_cast<char>(self->magic_[self->replay_position_++]);
  }
  if (copied == size) {
    self->delivered_ += copied;
    return static_cast<ssize_t>(copied);
  }
  ssize_t n = self->read_decompressed(buffer + copied, size - copied);
  if (n < 0) {
    if (copied > 0) {
      self->delivered_ += copied;
      return static_cast<ssize_t>(copied);
    }
    return -1;
  }
  copied += static_cast<size_t>(n);
  self->delivered_ += copied;
  return static_cast<ssize_t>(copied);
}

// Only position queries are supported (stdio asks for them in ftell); decompressed
// streams cannot seek.
int InputStream::cookie_seek(void* cookie, off64_t* offset, int whence) {
  auto* self = static_cast<InputStream*>(cookie);
  auto position = static_cast<off64_t>(self->delivered_);
  if ((whence == SEEK_CUR && *offset == 0) || (whence == SEEK_SET && *offset == position)) {
    *offset = position;
    return 0;
  }
  errno = ESPIPE;
  return -1;
}

int InputStream::cookie_close(void* cookie) {
  auto* self = static_cast<InputStream*>(cookie);
  self->stream_ = nullptr;
  return 0;
}

}  // namespace spamtap::capture_detail

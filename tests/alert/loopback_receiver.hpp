// Small syslog receivers on 127.0.0.1 for the tests: a UDP socket that returns each
// datagram, and a TCP listener that splits what it reads into octet-counted frames and
// fails the test on any framing error. Ports are ephemeral unless one is given.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace spamtap::alert::testing {

inline sockaddr_in loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

inline uint16_t bound_port(int socket) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  getsockname(socket, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

class UdpReceiver {
 public:
  UdpReceiver() {
    socket_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = loopback(0);
    EXPECT_EQ(bind(socket_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    port_ = bound_port(socket_);
  }
  ~UdpReceiver() { close(socket_); }
  uint16_t port() const { return port_; }

  std::optional<std::string> receive(int timeout_ms = 3000) {
    pollfd entry{socket_, POLLIN, 0};
    if (poll(&entry, 1, timeout_ms) <= 0) return std::nullopt;
    std::string buffer(70000, '\0');
    ssize_t got = recv(socket_, buffer.data(), buffer.size(), 0);
    if (got < 0) return std::nullopt;
    buffer.resize(static_cast<size_t>(got));
    return buffer;
  }

 private:
  int socket_ = -1;
  uint16_t port_ = 0;
};

class TcpReceiver {
 public:
  explicit TcpReceiver(uint16_t port = 0) { listen_on(port); }
  ~TcpReceiver() { stop(); }
  uint16_t port() const { return port_; }

  void listen_on(uint16_t port) {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in address = loopback(port);
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(listen(listener_, 8), 0);
    port_ = bound_port(listener_);
  }

  // Closes the listener and every accepted connection.
  void stop() {
    for (int connection : connections_) {
      if (connection >= 0) close(connection);
    }
    connections_.clear();
    buffers_.clear();
    if (listener_ >= 0) close(listener_);
    listener_ = -1;
  }

  // Reads until `count` frames have arrived or the time is up; returns all frames seen.
  std::vector<std::string> frames(size_t count, int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (frames_.size() < count && std::chrono::steady_clock::now() < deadline) {
      std::vector<pollfd> entries{{listener_, POLLIN, 0}};
      for (int connection : connections_) entries.push_back({connection, POLLIN, 0});
      if (poll(entries.data(), entries.size(), 50) <= 0) continue;
      if (entries[0].revents & POLLIN) {
        int connection = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (connection >= 0) {
          connections_.push_back(connection);
          buffers_.emplace_back();
        }
      }
      for (size_t i = 1; i < entries.size(); ++i) {
        if (!(entries[i].revents & (POLLIN | POLLHUP))) continue;
        char chunk[65536];
        ssize_t got = recv(entries[i].fd, chunk, sizeof chunk, 0);
        if (got > 0) buffers_[i - 1].append(chunk, static_cast<size_t>(got));
        if (got <= 0) {
          close(connections_[i - 1]);
          connections_[i - 1] = -1;  // poll() skips negative descriptors
        }
        split_frames(&buffers_[i - 1]);
      }
    }
    return frames_;
  }

 private:
  // RFC 6587 octet counting: digits, one space, then exactly that many bytes.
  void split_frames(std::string* buffer) {
    while (true) {
      size_t space = buffer->find(' ');
      if (space == std::string::npos) return;
      std::string digits = buffer->substr(0, space);
      ASSERT_FALSE(digits.empty());
      ASSERT_EQ(digits.find_first_not_of("0123456789"), std::string::npos)
          << "framing broken at: " << buffer->substr(0, 40);
      size_t length = std::stoul(digits);
      if (buffer->size() < space + 1 + length) return;
      frames_.push_back(buffer->substr(space + 1, length));
      buffer->erase(0, space + 1 + length);
    }
  }

  int listener_ = -1;
  uint16_t port_ = 0;
  std::vector<int> connections_;
  std::vector<std::string> buffers_;
  std::vector<std::string> frames_;
};

// A TCP port on 127.0.0.1 where nothing listens (bound, then released).
inline uint16_t closed_tcp_port() {
  int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address = loopback(0);
  bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address);
  uint16_t port = bound_port(probe);
  close(probe);
  return port;
}

}  // namespace spamtap::alert::testing

#include "alert/syslog_sender.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "alert/syslog_format.hpp"

namespace spamtap::alert {

namespace {

constexpr std::chrono::milliseconds kPollSlice{100};

enum class Delivery : uint8_t { kSent, kFailed, kAborted };

}  // namespace

SyslogSender::SyslogSender(SyslogTarget target, ResolvedAddress address,
                           SenderSettings settings)
    : target_(std::move(target)),
      address_(std::move(address)),
      settings_(settings),
      backoff_(settings.reconnect_initial) {
  thread_ = std::thread([this] { run(); });
}

SyslogSender::~SyslogSender() { close(std::chrono::milliseconds(0)); }

bool SyslogSender::enqueue(std::string message) {
  {
    std::lock_guard lock(mutex_);
    if (closing_) {
      counters_.dropped_at_close++;
      return false;
    }
    if (queue_.size() >= settings_.queue_capacity) {
      counters_.dropped_queue_full++;
      return false;
    }
    queue_.push_back(std::move(message));
    counters_.queued++;
  }
  wake_.notify_one();
  return true;
}

bool SyslogSender::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [&] { return queue_.empty() && !in_flight_; });
}

void SyslogSender::close(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake_.notify_all();
  wait_idle(timeout);
  {
    std::lock_guard lock(mutex_);
    abort_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

SenderCounters SyslogSender::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

std::string SyslogSender::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void SyslogSender::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return !queue_.empty() || closing_ || abort_; });
    if (abort_ || queue_.empty()) break;  // aborted, or closing with nothing left

    std::string message = std::move(queue_.front());
    queue_.pop_front();
    in_flight_ = true;
    lock.unlock();
    bool delivered = deliver(message);
    lock.lock();

    in_flight_ = false;
    if (delivered) counters_.sent++;
    if (queue_.empty()) idle_.notify_all();
  }

  counters_.dropped_at_close += queue_.size();
  queue_.clear();
  idle_.notify_all();
  lock.unlock();
  disconnect();
}

bool SyslogSender::deliver(const std::string& message) {
  bool delivered = target_.transport == Transport::kUdp ? deliver_udp(message)
                                                        : deliver_tcp(message);
  if (!delivered && abort_) {
    std::lock_guard lock(mutex_);
    counters_.dropped_at_close++;
  }
  return delivered;
}

bool SyslogSender::deliver_udp(const std::string& message) {
  auto give_up = [&](const std::string& why) {
    note_error(why);
    std::lock_guard lock(mutex_);
    counters_.dropped_send_error++;
    return false;
  };

  if (socket_ < 0) {
    int family = address_.storage.ss_family;
    socket_ = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (socket_ < 0) return give_up(fmt::format("socket: {}", std::strerror(errno)));
    if (connect(socket_, reinterpret_cast<const sockaddr*>(&address_.storage),
                address_.length) != 0) {
      int saved = errno;
      disconnect();
      return give_up(fmt::format("connect to {}: {}", address_.text, std::strerror(saved)));
    }
  }

  int refused = 0;
  while (!abort_) {
    ssize_t written = send(socket_, message.data(), message.size(), MSG_NOSIGNAL);
    if (written == static_cast<ssize_t>(message.size())) return true;
    if (written >= 0) return give_up("datagram sent short");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      wait_writable(kPollSlice);
      continue;
    }
    // A refusal reported by ICMP belongs to an earlier datagram; this one was not sent.
    if (errno == ECONNREFUSED && refused++ == 0) {
      note_error(fmt::format("{} refused an earlier datagram (no receiver?)", address_.text));
      continue;
    }
    return give_up(fmt::format("send to {}: {}", address_.text, std::strerror(errno)));
  }
  return false;
}

bool SyslogSender::deliver_tcp(const std::string& message) {
  std::string framed = frame_octet_counted(message);
  while (!abort_) {
    if (socket_ < 0 && !connect_tcp()) {
      back_off();
      continue;
    }
    // Receivers never send; readable means the receiver closed. Writing now would
    // succeed locally and lose the message.
    if (peer_closed()) {
      note_error(fmt::format("{} closed the connection", address_.text));
      disconnect();
      continue;
    }

    size_t offset = 0;
    bool failed = false;
    while (offset < framed.size() && !abort_) {
      ssize_t written = send(socket_, framed.data() + offset, framed.size() - offset,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
      if (written > 0) {
        offset += static_cast<size_t>(written);
      } else if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wait_writable(kPollSlice);
      } else if (written < 0 && errno == EINTR) {
        continue;
      } else {
        note_error(fmt::format("send to {}: {}", address_.text,
                               written < 0 ? std::strerror(errno) : "nothing written"));
        disconnect();
        failed = true;
        break;
      }
    }
    if (!failed && offset == framed.size()) return true;
    // A partly written frame died with its connection; the whole message goes again.
  }
  return false;
}

bool SyslogSender::connect_tcp() {
  int family = address_.storage.ss_family;
  socket_ = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (socket_ < 0) {
    note_error(fmt::format("socket: {}", std::strerror(errno)));
    return false;
  }

  int status = connect(socket_, reinterpret_cast<const sockaddr*>(&address_.storage),
                       address_.length);
  if (status != 0 && errno != EINPROGRESS) {
    note_error(fmt::format("connect to {}: {}", address_.text, std::strerror(errno)));
    disconnect();
    return false;
  }
  if (status != 0) {
    auto deadline = std::chrono::steady_clock::now() + settings_.connect_timeout;
    bool writable = false;
    while (!abort_ && !writable && std::chrono::steady_clock::now() < deadline) {
      writable = wait_writable(kPollSlice);
    }
    int problem = 0;
    socklen_t length = sizeof problem;
    if (!writable) {
      if (!abort_) note_error(fmt::format("connect to {}: timed out", address_.text));
      disconnect();
      return false;
    }
    if (getsockopt(socket_, SOL_SOCKET, SO_ERROR, &problem, &length) != 0 || problem != 0) {
      note_error(fmt::format("connect to {}: {}", address_.text, std::strerror(problem)));
      disconnect();
      return false;
    }
  }

  std::lock_guard lock(mutex_);
  counters_.connects++;
  if (counters_.connects > 1) counters_.reconnects++;
  backoff_ = settings_.reconnect_initial;
  return true;
}

// True when the socket can be written, or has an error to report.
bool SyslogSender::wait_writable(std::chrono::milliseconds timeout) {
  pollfd entry{socket_, POLLOUT, 0};
  int ready = poll(&entry, 1, static_cast<int>(timeout.count()));
  // An error also ends the wait: the next send() or SO_ERROR reports it.
  return ready > 0 && (entry.revents & (POLLOUT | POLLERR | POLLHUP)) != 0;
}

bool SyslogSender::peer_closed() {
  pollfd entry{socket_, POLLIN | POLLRDHUP, 0};
  if (poll(&entry, 1, 0) <= 0) return false;
  if (entry.revents & (POLLERR | POLLHUP | POLLRDHUP | POLLNVAL)) return true;
  char discard[256];
  ssize_t got = recv(socket_, discard, sizeof discard, MSG_DONTWAIT);
  return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void SyslogSender::disconnect() {
  if (socket_ >= 0) ::close(socket_);
  socket_ = -1;
}

void SyslogSender::note_error(std::string message) {
  std::lock_guard lock(mutex_);
  counters_.errors++;
  last_error_ = std::move(message);
}

void SyslogSender::back_off() {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, backoff_, [&] { return abort_.load(); });
  backoff_ = std::min(backoff_ * 2, settings_.reconnect_max);
}

}  // namespace spamtap::alert

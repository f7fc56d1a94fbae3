#include "alert/alert_sink.hpp"

#include <fmt/format.h>

#include "core/text.hpp"

namespace spamtap::alert {

AlertSink::AlertSink(const AlertOptions& options)
    : options_(options), limiter_(options.rate_limit) {
  if (options_.origin.hostname.empty()) {
    Origin local = Origin::local();
    options_.origin.hostname = local.hostname;
    if (options_.origin.process_id.empty()) options_.origin.process_id = local.process_id;
  }
  options_.origin = options_.origin.sanitized();
}

std::unique_ptr<AlertSink> AlertSink::create(const std::vector<std::string>& targets,
                                             const AlertOptions& options, std::string* error) {
  std::vector<SyslogTarget> parsed;
  for (const auto& text : targets) {
    auto target = SyslogTarget::parse(text, error);
    if (!target) return nullptr;
    parsed.push_back(std::move(*target));
  }
  return create_for_targets(parsed, options, error);
}

std::unique_ptr<AlertSink> AlertSink::create_for_targets(
    const std::vector<SyslogTarget>& targets, const AlertOptions& options, std::string* error) {
  // Every name is resolved before any thread starts, so a bad target starts nothing.
  std::vector<ResolvedAddress> addresses(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    if (!resolve(targets[i], &addresses[i], error)) return nullptr;
  }
  if (options.sender.queue_capacity == 0) {
    if (error) *error = "syslog: the queue capacity must be at least 1";
    return nullptr;
  }

  std::unique_ptr<AlertSink> sink(new AlertSink(options));
  for (size_t i = 0; i < targets.size(); ++i) {
    sink->settings_.push_back(MessageSettings::from(targets[i]));
    sink->senders_.push_back(
        std::make_unique<SyslogSender>(targets[i], addresses[i], options.sender));
  }
  return sink;
}

AlertSink::~AlertSink() { close(); }

void AlertSink::write_event(const Event& event) {
  AlertNotes notes;
  {
    std::lock_guard lock(mutex_);
    events_++;
    if (closed_) return;
    RateLimiter::Decision decision = limiter_.admit(event.host, event.rule, event.time);
    if (!decision.send) return;
    notes.suppressed_before = decision.suppressed_before;
  }

  // Targets with the same format settings share one formatted message.
  FormattedMessage previous;
  const MessageSettings* previous_settings = nullptr;
  uint64_t cut = 0;
  for (size_t i = 0; i < senders_.size(); ++i) {
    const MessageSettings& settings = settings_[i];
    bool same = previous_settings && previous_settings->format == settings.format &&
                previous_settings->cef == settings.cef &&
                previous_settings->facility == settings.facility &&
                previous_settings->max_size == settings.max_size;
    if (!same) {
      previous = format_message(event, options_.origin, settings, notes);
      previous_settings = &settings;
    }
    if (previous.cut) cut++;
    senders_[i]->enqueue(previous.bytes);
  }
  if (cut > 0) {
    std::lock_guard lock(mutex_);
    truncated_ += cut;
  }
}

void AlertSink::flush() {
  auto deadline = std::chrono::steady_clock::now() + options_.flush_timeout;
  for (auto& sender : senders_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    sender->wait_idle(std::max(left, std::chrono::milliseconds(0)));
  }
}

void AlertSink::close() {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    closed_ = true;
  }
  auto deadline = std::chrono::steady_clock::now() + options_.flush_timeout;
  for (auto& sender : senders_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    sender->close(std::max(left, std::chrono::milliseconds(0)));
  }
}

AlertCounters AlertSink::counters() const {
  AlertCounters out;
  {
    std::lock_guard lock(mutex_);
    out.events = events_;
    out.suppressed = limiter_.suppressed();
    out.truncated = truncated_;
  }
  for (const auto& sender : senders_) {
    SenderCounters c = sender->counters();
    out.delivery.queued += c.queued;
    out.delivery.sent += c.sent;
    out.delivery.dropped_queue_full += c.dropped_queue_full;
    out.delivery.dropped_send_error += c.dropped_send_error;
    out.delivery.dropped_at_close += c.dropped_at_close;
    out.delivery.connects += c.connects;
    out.delivery.reconnects += c.reconnects;
    out.delivery.errors += c.errors;
  }
  return out;
}

std::map<std::string, uint64_t> AlertSink::counter_map() const {
  AlertCounters c = counters();
  return {
      {"syslog_events", c.events},
      {"syslog_suppressed", c.suppressed},
      {"syslog_truncated", c.truncated},
      {"syslog_sent", c.delivery.sent},
      {"syslog_dropped", c.delivery.dropped()},
      {"syslog_dropped_queue_full", c.delivery.dropped_queue_full},
      {"syslog_dropped_send_error", c.delivery.dropped_send_error},
      {"syslog_dropped_at_close", c.delivery.dropped_at_close},
      {"syslog_reconnects", c.delivery.reconnects},
      {"syslog_errors", c.delivery.errors},
  };
}

std::string AlertSink::summary() const {
  AlertCounters c = counters();
  return fmt::format(
      "syslog: {} events to {} target(s), {} rate-limited, {} messages sent, {} dropped "
      "({} queue full, {} send errors, {} at close), {} truncated, {} reconnects, {} errors",
      c.events, senders_.size(), c.suppressed, c.delivery.sent, c.delivery.dropped(),
      c.delivery.dropped_queue_full, c.delivery.dropped_send_error,
      c.delivery.dropped_at_close, c.truncated, c.delivery.reconnects, c.delivery.errors);
}

std::vector<std::string> AlertSink::target_reports() const {
  std::vector<std::string> lines;
  for (const auto& sender : senders_) {
    SenderCounters c = sender->counters();
    std::string line =
        fmt::format("{} ({}): {} sent, {} dropped, {} reconnects, {} errors",
                    sender->target().to_string(), sender->address().text, c.sent, c.dropped(),
                    c.reconnects, c.errors);
    std::string last = sender->last_error();
    if (!last.empty()) line += fmt::format("; last error: {}", escape_control(last));
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace spamtap::alert

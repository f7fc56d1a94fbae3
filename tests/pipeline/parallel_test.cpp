// The part of --workers that decides where a packet goes: the symmetric shard hash. (That
// N workers give the same records as one is checked end to end over the corpus and a
// synthetic capture by tests/corpus/test_workers_parity.py.)
#include "pipeline/parallel.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace spamtap {
namespace {

TEST(ShardOf, SameWorkerBothWaysAndEveryWorkerUsed) {
  IpAddress client = *IpAddress::parse("10.0.0.7");
  std::vector<int> used(4, 0);
  for (uint16_t port = 40000; port < 40400; ++port) {
    IpAddress server = *IpAddress::parse(port % 2 ? "192.0.2.25" : "2001:db8::25");
    uint32_t forward = shard_of(client, port, server, 25, ip_protocol::kTcp, 4);
    uint32_t backward = shard_of(server, 25, client, port, ip_protocol::kTcp, 4);
    ASSERT_EQ(forward, backward);
    ASSERT_LT(forward, 4u);
    used[forward]++;
  }
  // 400 conversations over 4 workers: each gets a fair share (binomial, p = 1/4: the
  // chance of fewer than 50 is far below one in a million).
  for (int count : used) EXPECT_GT(count, 50);
  // Without ports (ICMP) only the addresses count.
  IpAddress server = *IpAddress::parse("192.0.2.1");
  EXPECT_EQ(shard_of(client, 8, server, 0, ip_protocol::kIcmp, 4),
            shard_of(server, 0, client, 0, ip_protocol::kIcmp, 4));
}

}  // namespace
}  // namespace spamtap

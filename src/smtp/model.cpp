#include "smtp/model.hpp"

namespace spamtap::smtp {

int Transaction::accepted_recipients() const {
  int count = static_cast<int>(unkept_accepted);
  for (const auto& recipient : recipients) {
    if (recipient.reply.code >= 200 && recipient.reply.code < 300) ++count;
  }
  return count;
}

int Transaction::refused_recipients() const {
  int count = static_cast<int>(unkept_refused);
  for (const auto& recipient : recipients) {
    if (recipient.reply.code >= 400 && recipient.reply.code < 600) ++count;
  }
  return count;
}

}  // namespace spamtap::smtp

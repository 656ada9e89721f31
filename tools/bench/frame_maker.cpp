#include "tools/bench/frame_maker.hpp"

#include "messages/commands.hpp"

namespace omega::bench {

frame_maker::frame_maker(target_kind target, size_t bytes)
  : target_(target), bytes_(bytes) {
  filler_.assign(bytes, 'x');
}

std::string frame_maker::make(msg_kind kind, std::string_view dst,
                              int64_t t) const {
  std::string out;
  out.reserve(bytes_ + dst.size() + 64);
  switch (target_) {
    case target_kind::omega:
      out += R"({"opcode":")";
      out += kind == msg_kind::offer    ? omega::cmd::make_offer::wire_name
             : kind == msg_kind::answer ? omega::cmd::make_answer::wire_name
                                        : omega::cmd::ice::wire_name;
      out += R"(","payload":)";
      append_payload(out, kind, t);
      out += R"(,"recipient":")";
      out += dst;
      out += R"("})";
      break;
    case target_kind::plain:
      out += dst;
      out += ' ';
      append_payload(out, kind, t);
      break;
    case target_kind::peerjs:
      out += R"({"type":")";
      out += kind == msg_kind::offer    ? "OFFER"
             : kind == msg_kind::answer ? "ANSWER"
                                        : "CANDIDATE";
      out += R"(","dst":")";
      out += dst;
      out += R"(","payload":)";
      append_payload(out, kind, t);
      out += '}';
      break;
  }
  return out;
}

void frame_maker::append_payload(std::string& out, msg_kind kind,
                                 int64_t t) const {
  auto start = out.size();
  out += R"({"type":")";
  out += kind == msg_kind::offer    ? "offer"
         : kind == msg_kind::answer ? "answer"
                                    : "candidate";
  out += R"(","t":)";
  out += std::to_string(t);
  out += R"(,"sdp":")";
  auto used = out.size() - start + 2;
  if (used < bytes_)
    out.append(filler_, 0, bytes_ - used);
  out += R"("})";
}

} // namespace omega::bench

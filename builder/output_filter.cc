#include "builder/output_filter.h"

namespace rv::builder {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr size_t kMaxCsiBytes = 64;       // longer "sequences" are garbage, not terminal commands
constexpr size_t kMaxStringBytes = 4096;  // OSC/DCS payload

bool Unsafe(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) ||      // C1 controls (0x9B is an 8-bit CSI)
         (cp >= 0x202A && cp <= 0x202E) ||  // bidi embeddings/overrides
         (cp >= 0x2066 && cp <= 0x2069);    // bidi isolates
}

}  // namespace

OutputFilter::OutputFilter(Options o, Emit emit) : opt_(o), emit_(std::move(emit)) {
  if (opt_.max_line_bytes < 16) opt_.max_line_bytes = 16;
}

void OutputFilter::Feed(std::string_view bytes) {
  bytes_in_ += bytes.size();
  if (truncated_) return;
  for (char ch : bytes) {
    Byte(static_cast<unsigned char>(ch));
    if (truncated_) return;
  }
}

void OutputFilter::Finish() {
  if (truncated_) return;
  if (state_ == State::kUtf8) BadUtf8();
  state_ = State::kText;
  if (!line_.empty() && !cut_) EndLine();
  line_.clear();
  cut_ = false;
  after_cr_ = false;
}

void OutputFilter::BadUtf8() {
  pending_.clear();
  need_ = 0;
  state_ = State::kText;
  Append(kReplacement);
}

void OutputFilter::Byte(unsigned char c) {
  // Line ends win over any half-read sequence: a newline is never swallowed.
  if (c == '\n' || c == '\r') {
    if (state_ == State::kUtf8) BadUtf8();
    state_ = State::kText;
    if (c == '\n' && after_cr_) {
      after_cr_ = false;
      return;
    }
    EndLine();
    after_cr_ = c == '\r';
    return;
  }
  after_cr_ = false;
  for (;;) {  // a byte that aborts a sequence is read again as text
    switch (state_) {
      case State::kUtf8:
        if ((c & 0xC0) == 0x80) {
          cp_ = (cp_ << 6) | (c & 0x3F);
          pending_.push_back(static_cast<char>(c));
          if (--need_ == 0) {
            state_ = State::kText;
            if (cp_ < min_ || cp_ > 0x10FFFF || (cp_ >= 0xD800 && cp_ <= 0xDFFF)) BadUtf8();
            else CodePoint(cp_, pending_);
            pending_.clear();
          }
          return;
        }
        BadUtf8();
        continue;
      case State::kEsc:
        esc_len_++;
        if (c == '[') state_ = State::kCsi;
        else if (c == ']' || c == 'P' || c == '^' || c == '_' || c == 'X') state_ = State::kString;
        else if (c >= 0x20 && c <= 0x2F) state_ = State::kEscInter;
        else if (c >= 0x30 && c <= 0x7E) state_ = State::kText;
        else {
          state_ = State::kText;
          continue;
        }
        return;
      case State::kEscInter:
        if (c >= 0x20 && c <= 0x2F && ++esc_len_ <= kMaxCsiBytes) return;
        state_ = State::kText;
        if (c >= 0x30 && c <= 0x7E) return;
        continue;
      case State::kCsi:
        if (c >= 0x20 && c <= 0x3F && ++esc_len_ <= kMaxCsiBytes) return;
        state_ = State::kText;
        if (c >= 0x40 && c <= 0x7E) return;
        continue;
      case State::kString:
        if (c == 0x07) state_ = State::kText;
        else if (c == 0x1B) state_ = State::kStringEsc;
        else if (++esc_len_ > kMaxStringBytes) state_ = State::kText;  // unterminated: show what follows
        return;
      case State::kStringEsc:
        if (c == '\\') {
          state_ = State::kText;
          return;
        }
        state_ = State::kEsc;  // ESC ends the string and starts a new sequence
        esc_len_ = 1;
        continue;
      case State::kText:
        if (c == 0x1B) {
          state_ = State::kEsc;
          esc_len_ = 1;
        } else if (c == '\t') {
          Append("\t");
        } else if (c < 0x20 || c == 0x7F) {
          Append(kReplacement);
        } else if (c < 0x80) {
          char s = static_cast<char>(c);
          Append(std::string_view(&s, 1));
        } else if (c >= 0xC2 && c <= 0xF4) {
          need_ = c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
          min_ = need_ == 1 ? 0x80 : need_ == 2 ? 0x800 : 0x10000;
          cp_ = c & (need_ == 1 ? 0x1F : need_ == 2 ? 0x0F : 0x07);
          pending_.assign(1, static_cast<char>(c));
          state_ = State::kUtf8;
        } else {
          Append(kReplacement);  // 0x80..0xC1 (stray continuation, overlong lead), 0xF5..0xFF
        }
        return;
    }
  }
}

void OutputFilter::CodePoint(uint32_t cp, std::string_view encoded) {
  Append(Unsafe(cp) ? kReplacement : encoded);
}

void OutputFilter::Append(std::string_view s) {
  if (cut_ || truncated_) return;
  if (line_.size() + s.size() > opt_.max_line_bytes) {
    // Emit the capped line now: the rest may never end (megabytes without a newline).
    line_ += kLineCutMarker;
    EndLine();
    cut_ = true;
    return;
  }
  line_ += s;
}

void OutputFilter::EndLine() {
  if (truncated_) return;
  if (cut_) {  // the capped line was emitted already; this is its end
    cut_ = false;
    line_.clear();
    return;
  }
  uint64_t size = line_.size() + 1;
  if (bytes_out_ + size > opt_.max_total_bytes) {
    truncated_ = true;
    line_.clear();
    emit_(kTruncatedLine);
    bytes_out_ += kTruncatedLine.size() + 1;
    lines_out_++;
    return;
  }
  bytes_out_ += size;
  lines_out_++;
  emit_(line_);
  line_.clear();
}

}  // namespace rv::builder

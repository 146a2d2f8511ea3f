#include "test/depcheck/command_scan.h"

#include <algorithm>
#include <cctype>
#include <regex>

namespace rv::depcheck {
namespace {

// Words a shell runs itself: never a program to install.
const std::set<std::string>& Builtins() {
  static const std::set<std::string> k = {
      ".", ":", "[", "[[", "]]", "alias", "bg", "bind", "break", "builtin", "caller", "cd", "command",
      "compgen", "complete", "continue", "declare", "dirs", "disown", "echo", "enable", "eval", "exec",
      "exit", "export", "false", "fc", "fg", "getopts", "hash", "help", "history", "jobs", "kill", "let",
      "local", "logout", "mapfile", "popd", "printf", "pushd", "pwd", "read", "readarray", "readonly",
      "return", "set", "shift", "shopt", "source", "suspend", "test", "times", "trap", "true", "type",
      "typeset", "ulimit", "umask", "unalias", "unset", "wait", "case", "esac", "for", "select", "in",
      "fi", "done", "function", "coproc", "}", "{", "!", "if", "then", "else", "elif", "while", "until",
      "do", "time"};
  return k;
}

// Keywords after which a command starts.
bool StartsCommand(const std::string& w) {
  static const std::set<std::string> k = {"if", "then", "else", "elif", "while", "until", "do", "!", "time", "{"};
  return k.count(w) > 0;
}

bool IsName(const std::string& w) {
  static const std::regex re("[A-Za-z0-9_][A-Za-z0-9_.+-]*");
  if (!std::regex_match(w, re)) return false;
  return !std::all_of(w.begin(), w.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// "/usr/sbin/ip" -> "ip"; "" when the path is not in a system bin directory.
std::string SystemBinName(const std::string& w) {
  static const std::regex re("/(usr/)?s?bin/([A-Za-z0-9_.+-]+)");
  std::smatch m;
  if (std::regex_match(w, m, re)) return m[2];
  return "";
}

bool IsAssignment(const std::string& w) {
  static const std::regex re("[A-Za-z_][A-Za-z0-9_]*(\\[[^\\]]*\\])?\\+?=.*");
  return std::regex_match(w, re);
}

bool IsRedirection(const std::string& w) {
  static const std::regex re("[0-9]*(>>?|<|&>|>&|<>)(&?[0-9-]*)?");
  return std::regex_match(w, re);
}

// ---- shell lexing ------------------------------------------------------------------

struct Tok {
  enum Kind { kWord, kOp } kind;
  std::string text;
  bool plain = true;  // a word with no quotes, no $ and no glob: it can name a program
  int line = 0;
};

class ShellLexer {
 public:
  explicit ShellLexer(std::string_view s, int first_line = 1) : s_(s), line_(first_line) {}

  // Tokens of the text; the bodies of $( ), ` ` and <( ) are returned separately in
  // `nested` (with their line) so the caller scans them as commands of their own.
  std::vector<Tok> Run(std::vector<std::pair<std::string, int>>* nested) {
    std::vector<Tok> out;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '\\' && i_ + 1 < s_.size() && s_[i_ + 1] == '\n') { i_ += 2; ++line_; continue; }
      if (c == '\n') {
        out.push_back({Tok::kOp, "\n", true, line_});
        ++line_; ++i_;
        SkipHeredocs();
        continue;
      }
      if (c == ' ' || c == '\t' || c == '\r') { ++i_; continue; }
      if (c == '#') { while (i_ < s_.size() && s_[i_] != '\n') ++i_; continue; }
      if (Op(&out)) continue;
      out.push_back(Word(nested));
    }
    return out;
  }

 private:
  bool Op(std::vector<Tok>* out) {
    static const char* ops[] = {";;&", ";;", ";&", "&&", "||", "|&", "<<<", "<<-", "<<", "&>>", "&>",
                                ">>", ">&", "<&", "<>", ">|", "|", "&", ";", "(", ")", ">", "<"};
    // A process substitution <( ) / >( ) is a nested command, lexed as a word.
    if ((s_[i_] == '<' || s_[i_] == '>') && i_ + 1 < s_.size() && s_[i_ + 1] == '(') return false;
    for (const char* op : ops) {
      std::string_view o(op);
      if (s_.substr(i_, o.size()) == o) {
        i_ += o.size();
        std::string text(o);
        if (text == "<<" || text == "<<-") {
          ReadHeredocDelimiter(text == "<<-");
          text = "<";  // the delimiter was consumed; what follows is the command's rest
        }
        out->push_back({Tok::kOp, text, true, line_});
        return true;
      }
    }
    return false;
  }

  void ReadHeredocDelimiter(bool strip_tabs) {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
    std::string d;
    while (i_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[i_])) && s_[i_] != ';' && s_[i_] != '|' &&
           s_[i_] != '&' && s_[i_] != ')') {
      if (s_[i_] != '\'' && s_[i_] != '"' && s_[i_] != '\\') d += s_[i_];
      ++i_;
    }
    if (!d.empty()) pending_heredocs_.push_back({d, strip_tabs});
  }

  void SkipHeredocs() {
    for (auto& [delim, strip] : pending_heredocs_) {
      while (i_ < s_.size()) {
        size_t end = s_.find('\n', i_);
        if (end == std::string_view::npos) end = s_.size();
        std::string_view l = s_.substr(i_, end - i_);
        if (strip) while (!l.empty() && l.front() == '\t') l.remove_prefix(1);
        i_ = end < s_.size() ? end + 1 : end;
        ++line_;
        if (l == delim) break;
      }
    }
    pending_heredocs_.clear();
  }

  // Reads up to the matching close of a $( ... ) body (i_ just after the '('),
  // respecting quotes and nesting; returns the body.
  std::string Balanced(char open, char close) {
    int depth = 1;
    size_t start = i_;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == '\\') { i_ += 2; continue; }
      if (c == '\'' || c == '"') {  // a quoted string's parentheses do not count
        size_t j = i_ + 1;
        while (j < s_.size() && s_[j] != c) {
          if (c == '"' && s_[j] == '\\') ++j;
          if (j < s_.size() && s_[j] == '\n') ++line_;
          ++j;
        }
        i_ = j + 1;
        continue;
      }
      if (c == '\n') ++line_;
      if (c == open) ++depth;
      if (c == close && --depth == 0) { ++i_; return std::string(s_.substr(start, i_ - 1 - start)); }
      ++i_;
    }
    return std::string(s_.substr(start));
  }

  void Nested(std::vector<std::pair<std::string, int>>* nested, Tok* w) {
    int at = line_;
    nested->push_back({Balanced('(', ')'), at});
    w->plain = false;
    w->text += "X";
  }

  Tok Word(std::vector<std::pair<std::string, int>>* nested) {
    Tok w{Tok::kWord, "", true, line_};
    bool dq = false;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (!dq && (std::isspace(static_cast<unsigned char>(c)) || c == ';' || c == '|' || c == '&' || c == ')' ||
                  (c == '(' && !w.text.empty() && w.text.back() != '=' && w.text.back() != '@') ||
                  ((c == '<' || c == '>') && !(i_ + 1 < s_.size() && s_[i_ + 1] == '(')))) {
        break;
      }
      if (c == '\\') { w.plain = false; if (i_ + 1 < s_.size()) w.text += s_[i_ + 1]; i_ += 2; continue; }
      if (c == '"') { dq = !dq; w.plain = false; ++i_; continue; }
      if (c == '\'' && !dq) {
        size_t e = s_.find('\'', i_ + 1);
        if (e == std::string_view::npos) e = s_.size();
        for (size_t k = i_ + 1; k < e; ++k) if (s_[k] == '\n') ++line_;
        w.text += s_.substr(i_ + 1, e - i_ - 1);
        w.plain = false;
        i_ = e + 1;
        continue;
      }
      if (c == '`') {
        size_t e = s_.find('`', i_ + 1);
        if (e == std::string_view::npos) e = s_.size();
        nested->push_back({std::string(s_.substr(i_ + 1, e - i_ - 1)), line_});
        w.plain = false;
        i_ = e + 1;
        continue;
      }
      if (c == '$' && i_ + 2 < s_.size() && s_[i_ + 1] == '(' && s_[i_ + 2] == '(') {
        i_ += 3;  // $(( arithmetic )): no command inside
        Balanced('(', ')');
        if (i_ < s_.size() && s_[i_] == ')') ++i_;
        w.plain = false;
        continue;
      }
      if (c == '$' && i_ + 1 < s_.size() && s_[i_ + 1] == '{') {  // ${NAME:-a b}: one expansion
        i_ += 2;
        w.text += "${" + Balanced('{', '}') + "}";
        w.plain = false;
        continue;
      }
      if ((c == '$' || c == '<' || c == '>') && i_ + 1 < s_.size() && s_[i_ + 1] == '(') {
        i_ += 2;
        Nested(nested, &w);
        continue;
      }
      if (c == '(' && !dq) {  // NAME=( array ) or a glob @( ): one word, no command inside
        ++i_;
        Balanced('(', ')');
        w.plain = false;
        continue;
      }
      if (c == '$' || c == '*' || c == '?' || c == '[' || c == '{' || c == '~') w.plain = false;
      if (c == '\n') ++line_;
      w.text += c;
      ++i_;
    }
    return w;
  }

  std::string_view s_;
  size_t i_ = 0;
  int line_;
  std::vector<std::pair<std::string, bool>> pending_heredocs_;
};

// ---- shell commands from tokens ---------------------------------------------------

class ShellCommands {
 public:
  explicit ShellCommands(Certainty c) : certainty_(c) {}

  void Scan(std::string_view text, int first_line, std::vector<CommandUse>* out) {
    std::vector<std::pair<std::string, int>> nested;
    ShellLexer lexer(text, first_line);
    toks_ = lexer.Run(&nested);
    out_ = out;
    Walk();
    for (auto& [body, line] : nested) ShellCommands(certainty_).Scan(body, line, out);
  }

 private:
  bool AtEnd() const { return i_ >= toks_.size(); }
  const Tok& Cur() const { return toks_[i_]; }
  bool IsOp(const char* o) const { return !AtEnd() && Cur().kind == Tok::kOp && Cur().text == o; }
  bool IsWord(const char* w) const { return !AtEnd() && Cur().kind == Tok::kWord && Cur().text == w; }

  void Emit(const std::string& name, int line) {
    std::string n = name;
    if (n.find('/') != std::string::npos) {
      n = SystemBinName(name);
      if (n.empty()) return;  // a project script or any other path: not a package's program
    }
    if (!IsName(n) || Builtins().count(n)) return;
    out_->push_back({n, line, certainty_});
  }

  void SkipTo(const std::set<std::string>& enders) {
    while (!AtEnd() && !(Cur().kind == Tok::kWord && enders.count(Cur().text))) ++i_;
  }

  void Walk() {
    bool start = true;
    std::vector<bool> case_stack;  // true: reading a case pattern
    while (!AtEnd()) {
      const Tok& t = Cur();
      if (!case_stack.empty() && case_stack.back()) {  // pattern mode: up to ')' or esac
        if (t.kind == Tok::kWord && t.text == "esac") { case_stack.pop_back(); ++i_; start = false; continue; }
        if (t.kind == Tok::kOp && t.text == ")") { case_stack.back() = false; start = true; }
        ++i_;
        continue;
      }
      if (t.kind == Tok::kOp) {
        if (t.text == ";;" || t.text == ";&" || t.text == ";;&") {
          if (!case_stack.empty()) case_stack.back() = true;
        }
        start = !(t.text == ">" || t.text == "<" || t.text == ">>" || t.text == ">&" || t.text == "<&" ||
                  t.text == "&>" || t.text == "&>>" || t.text == "<<<" || t.text == "<>" || t.text == ">|");
        if (!start) { ++i_; if (!AtEnd() && Cur().kind == Tok::kWord) ++i_; start = true; continue; }
        if (t.text == "(" && i_ + 1 < toks_.size() && toks_[i_ + 1].kind == Tok::kOp && toks_[i_ + 1].text == "(") {
          // (( arithmetic ))
          while (!AtEnd() && !(IsOp(")") && i_ + 1 < toks_.size() && toks_[i_ + 1].text == ")")) ++i_;
          i_ += 2;
          start = false;
          continue;
        }
        if (t.text == ")") start = false;
        ++i_;
        continue;
      }
      if (!start) {
        if (t.text == "esac" && !case_stack.empty()) case_stack.pop_back();
        ++i_;
        continue;
      }
      // A word at a command position.
      const std::string& w = t.text;
      if (t.plain && IsAssignment(w)) { ++i_; continue; }
      if (!t.plain && IsAssignment(w)) { ++i_; continue; }
      if (IsRedirection(w)) { ++i_; continue; }
      if (t.plain && StartsCommand(w)) { ++i_; continue; }
      if (t.plain && w == "case") {
        SkipTo({"in"});
        ++i_;
        case_stack.push_back(true);
        continue;
      }
      if (t.plain && (w == "for" || w == "select")) { SkipTo({"do"}); continue; }
      if (t.plain && w == "function") { i_ += 2; start = true; continue; }
      if (t.plain && w == "[[") { SkipTo({"]]"}); ++i_; start = false; continue; }
      if (t.plain && i_ + 2 < toks_.size() && toks_[i_ + 1].kind == Tok::kOp && toks_[i_ + 1].text == "(" &&
          toks_[i_ + 2].kind == Tok::kOp && toks_[i_ + 2].text == ")") {
        i_ += 3;  // name() { ... }: a definition
        start = true;
        continue;
      }
      Command();
      start = false;
    }
  }

  // The words of the simple command starting at i_ (up to an operator).
  std::vector<const Tok*> Words() {
    std::vector<const Tok*> ws;
    while (!AtEnd() && Cur().kind == Tok::kWord) ws.push_back(&toks_[i_++]);
    return ws;
  }

  void Command() {
    std::vector<const Tok*> ws = Words();
    size_t k = 0;
    while (k < ws.size()) {
      const Tok& t = *ws[k];
      if (!t.plain && SystemBinName(t.text).empty()) return;  // "$bin": chosen at run time
      std::string name = t.text.find('/') != std::string::npos ? SystemBinName(t.text) : t.text;
      Emit(t.text, t.line);
      size_t next = Wrapped(name, ws, k + 1);
      if (next == 0) return;
      k = next;
    }
  }

  static bool Numeric(const std::string& w) {
    static const std::regex re("[0-9][0-9.,:-]*[a-z]?");
    return std::regex_match(w, re);
  }

  // For a wrapper (timeout, nsenter, ip netns exec, ...), the index of the word it
  // runs; 0 when `name` runs no other program.
  static size_t Wrapped(const std::string& name, const std::vector<const Tok*>& ws, size_t k) {
    auto skip_opts = [&](std::set<std::string> with_arg) {
      while (k < ws.size()) {
        const std::string& w = ws[k]->text;
        if (w == "--") return k + 1;
        if (w.size() > 1 && w[0] == '-') { k += with_arg.count(w) ? 2 : 1; continue; }
        if (IsAssignment(w) && name == "env") { ++k; continue; }
        break;
      }
      return k;
    };
    if (name == "exec" || name == "command" || name == "builtin" || name == "nohup" || name == "setsid" ||
        name == "stdbuf" || name == "env" || name == "strace" || name == "time" || name == "unshare" ||
        name == "nice" || name == "chrt" || name == "sudo" || name == "runuser" || name == "xargs" ||
        name == "nsenter" || name == "watch") {
      k = skip_opts({"-n", "-u", "-g", "-p", "-o", "-e", "-I", "-P", "-s", "-t", "-L", "-d", "-E"});
      while (k < ws.size() && Numeric(ws[k]->text)) ++k;
      return k < ws.size() ? k : 0;
    }
    if (name == "timeout" || name == "taskset" || name == "chroot" || name == "flock") {
      k = skip_opts({"-s", "-k", "-w", "-E", "--signal", "--kill-after"});
      if (name == "flock" && k < ws.size() && (ws[k]->text == "-c")) return 0;
      ++k;  // the duration, CPU list, directory or lock file
      k = skip_opts({});
      return k < ws.size() ? k : 0;
    }
    if (name == "ip") {
      // ip [-n NS] netns exec NS CMD...
      if (k + 2 < ws.size() && ws[k]->text == "netns" && ws[k + 1]->text == "exec") return k + 3 < ws.size() ? k + 3 : 0;
      return 0;
    }
    return 0;
  }

  Certainty certainty_;
  std::vector<Tok> toks_;
  size_t i_ = 0;
  std::vector<CommandUse>* out_ = nullptr;
};

// ---- C++ -----------------------------------------------------------------------------

struct Literal {
  size_t begin = 0, end = 0;  // [begin, end) of the whole literal in the source
  std::string value;
  int line = 0;
};

// Comments blanked (newlines kept) and every string literal found, so later
// passes can work on code only.
std::string StripCxx(std::string_view s, std::vector<Literal>* lits) {
  std::string out(s);
  int line = 1;
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c == '\n') { ++line; ++i; continue; }
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '/') {
      while (i < s.size() && s[i] != '\n') out[i++] = ' ';
      continue;
    }
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      while (i < s.size() && !(s[i] == '*' && i + 1 < s.size() && s[i + 1] == '/')) {
        if (s[i] == '\n') ++line; else out[i] = ' ';
        ++i;
      }
      if (i < s.size()) { out[i] = out[i + 1] = ' '; i += 2; }
      continue;
    }
    if (c == '\'') {  // a char literal ('"' must not open a string)
      size_t j = i + 1;
      while (j < s.size() && s[j] != '\'' && s[j] != '\n') j += s[j] == '\\' ? 2 : 1;
      i = j + 1;
      continue;
    }
    if (c == 'R' && i + 1 < s.size() && s[i + 1] == '"') {  // R"delim( ... )delim"
      size_t open = s.find('(', i);
      if (open == std::string_view::npos) { ++i; continue; }
      std::string close = ")" + std::string(s.substr(i + 2, open - i - 2)) + "\"";
      size_t e = s.find(close, open);
      if (e == std::string_view::npos) e = s.size();
      Literal l{i, std::min(s.size(), e + close.size()), std::string(s.substr(open + 1, e - open - 1)), line};
      for (size_t k = i; k < l.end; ++k) if (s[k] == '\n') ++line;
      lits->push_back(l);
      i = l.end;
      continue;
    }
    if (c == '"') {
      Literal l{i, 0, "", line};
      size_t j = i + 1;
      while (j < s.size() && s[j] != '"' && s[j] != '\n') {
        if (s[j] == '\\' && j + 1 < s.size()) {
          char e = s[j + 1];
          l.value += e == 'n' ? '\n' : e == 't' ? '\t' : e;
          j += 2;
          continue;
        }
        l.value += s[j++];
      }
      l.end = j + 1;
      lits->push_back(l);
      i = l.end;
      continue;
    }
    ++i;
  }
  return out;
}

// [open, close] of the parenthesis or brace group that starts at `open`.
size_t MatchClose(const std::string& code, const std::vector<Literal>& lits, size_t open) {
  char o = code[open], c = o == '(' ? ')' : '}';
  int depth = 0;
  size_t li = 0;
  for (size_t i = open; i < code.size(); ++i) {
    while (li < lits.size() && lits[li].end <= i) ++li;
    if (li < lits.size() && lits[li].begin <= i && i < lits[li].end) { i = lits[li].end - 1; continue; }
    if (code[i] == o) ++depth;
    if (code[i] == c && --depth == 0) return i;
  }
  return code.size();
}

// The operands of [begin, end) split at top-level `sep` (not inside nested
// brackets or literals), as [begin, end) ranges.
std::vector<std::pair<size_t, size_t>> SplitTopLevel(const std::string& code, const std::vector<Literal>& lits,
                                                     size_t begin, size_t end, char sep) {
  std::vector<std::pair<size_t, size_t>> out;
  int depth = 0;
  size_t li = 0, from = begin;
  for (size_t i = begin; i < end; ++i) {
    while (li < lits.size() && lits[li].end <= i) ++li;
    if (li < lits.size() && lits[li].begin <= i && i < lits[li].end) { i = lits[li].end - 1; continue; }
    char c = code[i];
    if (c == '(' || c == '{' || c == '[') ++depth;
    if (c == ')' || c == '}' || c == ']') --depth;
    if (c == sep && depth == 0) { out.push_back({from, i}); from = i + 1; }
  }
  out.push_back({from, end});
  return out;
}

// An operand that is exactly one string literal gives its value; anything else is
// a value known only at run time ("$X", which never names a program).
std::string Operand(const std::string& code, const std::vector<Literal>& lits, std::pair<size_t, size_t> r,
                    int* line) {
  size_t b = code.find_first_not_of(" \t\n", r.first);
  size_t e = code.find_last_not_of(" \t\n", r.second - 1);
  if (b == std::string::npos || b > e) return "";
  for (const Literal& l : lits) {
    if (l.begin == b && l.end == e + 1) {
      if (*line == 0) *line = l.line;
      return l.value;
    }
  }
  return "$X";
}

// The first argument of a call at `open` as the shell line it builds by
// concatenation: Sh("ip netns exec " + ns + " ping -c 1") -> "ip netns exec $X ping -c 1".
std::string ShellLine(const std::string& code, const std::vector<Literal>& lits, size_t open, size_t close, int* line) {
  auto args = SplitTopLevel(code, lits, open + 1, close, ',');
  std::string cmd;
  for (auto r : SplitTopLevel(code, lits, args[0].first, args[0].second, '+')) cmd += Operand(code, lits, r, line);
  return cmd;
}

// A list of argv words from [begin, end), one per top-level comma-separated operand.
std::string ArgvLine(const std::string& code, const std::vector<Literal>& lits, size_t begin, size_t end, int* line) {
  std::string cmd;
  for (auto r : SplitTopLevel(code, lits, begin, end, ',')) {
    std::string w = Operand(code, lits, r, line);
    if (w.empty()) continue;
    if (w != "$X" && (w.find(' ') != std::string::npos || w.empty())) w = "'" + w + "'";
    cmd += (cmd.empty() ? "" : " ") + w;
  }
  return cmd;
}

}  // namespace

std::vector<CommandUse> CommandsInShell(std::string_view text) {
  std::vector<CommandUse> out;
  ShellCommands(Certainty::kStrong).Scan(text, 1, &out);
  return out;
}

std::set<std::string> ShellFunctions(std::string_view text) {
  std::set<std::string> out;
  static const std::regex re("(^|\\n)[ \\t]*(function[ \\t]+)?([A-Za-z_][A-Za-z0-9_-]*)[ \\t]*\\(\\)");
  std::string s(text);
  for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it) out.insert((*it)[3]);
  static const std::regex fn("(^|\\n)[ \\t]*function[ \\t]+([A-Za-z_][A-Za-z0-9_-]*)");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), fn); it != std::sregex_iterator(); ++it) out.insert((*it)[2]);
  return out;
}

std::vector<CommandUse> CommandsInCxx(std::string_view text) {
  std::vector<Literal> lits;
  std::string code = StripCxx(text, &lits);
  std::vector<CommandUse> out;

  // Absolute paths of system programs: strong where they initialize a value
  // (`kIp = "/usr/sbin/ip"`, `f("/usr/bin/x")`), weak elsewhere (data, fixtures).
  for (const Literal& l : lits) {
    std::string first = l.value.substr(0, l.value.find(' '));
    std::string n = SystemBinName(first);
    if (n.empty()) continue;
    size_t p = code.find_last_not_of(" \t\n", l.begin == 0 ? 0 : l.begin - 1);
    bool init = p != std::string::npos && l.begin > 0 && (code[p] == '=' || code[p] == '(' ||
                                                           (p >= 5 && code.compare(p - 5, 6, "return") == 0));
    out.push_back({n, l.line, init ? Certainty::kStrong : Certainty::kWeak});
  }

  // Calls that run a shell command line or a program.
  static const std::regex call("\\b([A-Za-z_][A-Za-z0-9_]*)\\s*\\(");
  for (auto it = std::sregex_iterator(code.begin(), code.end(), call); it != std::sregex_iterator(); ++it) {
    std::string fn = (*it)[1];
    size_t open = it->position(0) + it->length(0) - 1;
    bool shell = fn == "system" || fn == "popen" || (fn.size() >= 2 && fn.compare(fn.size() - 2, 2, "Sh") == 0);
    bool exec_l = fn == "execlp" || fn == "execl";
    bool argv_call = fn == "execvp" || fn == "execv" || fn == "execvpe" || fn == "posix_spawnp" || fn == "RunCmd";
    if (!shell && !exec_l && !argv_call) continue;
    size_t close = MatchClose(code, lits, open);
    int line = 0;
    if (shell) {
      std::string cmd = ShellLine(code, lits, open, close, &line);
      std::vector<CommandUse> found;
      ShellCommands(Certainty::kStrong).Scan(cmd, line, &found);
      out.insert(out.end(), found.begin(), found.end());
      continue;
    }
    // execlp("ip", "ip", "netns", ...): the file, then argv; RunCmd({"ip", ...}).
    // The program is the first operand, when it is a literal: execvp("ip", argv).
    {
      int l0 = 0;
      auto args0 = SplitTopLevel(code, lits, open + 1, close, ',');
      std::string file = fn == "RunCmd" ? "" : Operand(code, lits, args0[0], &l0);
      if (IsName(file)) out.push_back({file, l0, Certainty::kStrong});
    }
    // For RunCmd({...}) the list is the argument; for exec* the call's arguments.
    size_t from = open + 1, to = close;
    if (fn == "RunCmd") {
      from = code.find('{', open);
      if (from == std::string::npos || from > close) continue;
      to = MatchClose(code, lits, from);
      ++from;
    }
    auto args = SplitTopLevel(code, lits, from, to, ',');
    if (exec_l && args.size() > 1) from = args[1].first;  // skip the file; argv[0] names the program
    if (!exec_l && fn != "RunCmd") continue;  // execv(argv[0], ...): only the literal file above
    std::string cmd = ArgvLine(code, lits, from, to, &line);
    std::vector<CommandUse> found;
    ShellCommands(Certainty::kStrong).Scan(cmd, line, &found);
    out.insert(out.end(), found.begin(), found.end());
  }

  // Brace lists that start with a name: maybe an argv.
  for (const Literal& l : lits) {
    size_t p = l.begin;
    while (p > 0 && std::isspace(static_cast<unsigned char>(code[p - 1]))) --p;
    if (p == 0 || code[p - 1] != '{') continue;
    size_t q = l.end;
    while (q < code.size() && std::isspace(static_cast<unsigned char>(code[q]))) ++q;
    if (q >= code.size() || code[q] != ',' || !IsName(l.value)) continue;
    size_t close = MatchClose(code, lits, p - 1);
    int line = 0;
    // An argv has options: {"iptables", "-w", "2"}; {"route", "add"} and
    // {"size", n} are arguments or data.
    auto ops = SplitTopLevel(code, lits, p, close, ',');
    int l2 = 0;
    if (ops.size() < 2 || Operand(code, lits, ops[1], &l2).rfind("-", 0) != 0) continue;
    std::string cmd = ArgvLine(code, lits, p, close, &line);
    std::vector<CommandUse> found;
    ShellCommands(Certainty::kWeak).Scan(cmd, line, &found);
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

std::set<std::string> PackagesInInstallDeps(std::string_view text) {
  std::set<std::string> out;
  size_t at = text.find("packages=(");
  if (at == std::string_view::npos) return out;
  bool comment = false;
  std::string w;
  auto flush = [&] { if (!w.empty()) out.insert(w); w.clear(); };
  for (size_t i = at + 10; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') { comment = false; flush(); continue; }
    if (comment) continue;  // a ')' in a comment does not close the array
    if (c == '#' && w.empty()) { comment = true; continue; }
    if (c == ')') break;
    if (std::isspace(static_cast<unsigned char>(c))) { flush(); continue; }
    w += c;
  }
  flush();
  return out;
}

}  // namespace rv::depcheck

// sinks/output_file.h
//
// OutputFile: where a CLI output goes. "-" is stdout; any other path is
// created (truncated) and closed on destruction. The writers on top of it
// (replay's CSV and line-protocol outputs, FlowStatsCsvWriter) buffer their
// own bytes and hand them over in large blocks.
//
// Errors name the path and the system's reason: the constructor throws
// std::runtime_error("cannot write '<path>': <reason>"); write() and flush()
// return "write to '<path>' failed: <reason>", or an empty string on
// success, so a writer on a thread that must not throw can keep the message.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tickflow {

class OutputFile {
 public:
  explicit OutputFile(const std::string& path) : path_(path) {
    if (path == "-") {
      file_ = stdout;
    } else {
      file_ = std::fopen(path.c_str(), "wb");
      if (file_ == nullptr) throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
      owned_ = true;
    }
  }
  ~OutputFile() {
    if (owned_) std::fclose(file_);
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  std::string write(std::string_view bytes) noexcept {
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) return failure();
    return {};
  }
  std::string flush() noexcept { return std::fflush(file_) != 0 ? failure() : std::string(); }

  const std::string& path() const noexcept { return path_; }

 private:
  std::string failure() const { return "write to '" + path_ + "' failed: " + std::strerror(errno); }

  std::string path_;
  std::FILE* file_ = nullptr;
  bool owned_ = false;
};

}  // namespace tickflow

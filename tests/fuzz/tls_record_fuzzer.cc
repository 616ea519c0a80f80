// tests/fuzz/tls_record_fuzzer.cc: Tls13RecordReader (feeds/tls13_record_reader.h)
// on hostile bytes. Random bytes never pass the AEAD, so each input is used
// three ways:
//  1. as a record stream, to a reader keyed from a real handshake;
//  2. as mutations of a real stream (the records of 64 messages of varied
//     sizes, the server's tickets and a KeyUpdate among them, made once by
//     OpenSSL in memory): (position, xor) pairs from the input are applied
//     and the result is opened;
//  3. the real stream unmutated, cut where the input says (byte values as
//     piece sizes), which must give back every message byte for byte
//     (abort otherwise).
// Whatever the reader returns must stay inside what it was given: consumed
// <= the input, produced <= the room, and an error or a close is final.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "feeds/tls13_record_reader.h"
#include "tests/unit/feeds/tls_memory_connection.h"

using namespace tickflow;

namespace {

struct Stream {
  testing::TlsMemoryConnection connection{"TLS_AES_128_GCM_SHA256"};
  std::string wire;
  std::string plaintext;
  Stream() {
    for (int i = 0; i < 64; ++i) {
      if (i == 40) SSL_key_update(connection.server(), SSL_KEY_UPDATE_NOT_REQUESTED);
      std::string m(static_cast<std::size_t>(1 + (i * 977) % 500), static_cast<char>('a' + i % 26));
      connection.server_write(m);
      plaintext += m;
    }
    wire = connection.take_server_bytes();  // tickets first, then the records
  }
};

const Stream& stream() {
  static const Stream s;
  return s;
}

// Opens `bytes` in pieces; returns the application data, or nothing past an
// error. Aborts when the reader breaks a promise.
std::string open_all(const std::string& bytes, const std::uint8_t* cuts, std::size_t cut_count, bool* failed) {
  Tls13RecordReader reader;
  const auto& secret = stream().connection.server_secret();
  if (!reader.start(stream().connection.suite(), secret.data(), secret.size(), nullptr)) std::abort();
  std::vector<unsigned char> out(Tls13RecordReader::kMaxPlaintextWrite);
  std::string got;
  std::string pending;
  std::size_t at = 0;
  std::size_t k = 0;
  *failed = false;
  while (at < bytes.size() || !pending.empty()) {
    const std::size_t piece = cut_count == 0 ? bytes.size() : 1 + std::size_t{cuts[k++ % cut_count]} * 64;
    const std::size_t n = std::min(piece, bytes.size() - at);
    pending.append(bytes, at, n);
    at += n;
    const auto r =
        reader.open(reinterpret_cast<const unsigned char*>(pending.data()), pending.size(), out.data(), out.size());
    if (r.consumed > pending.size() || r.produced > out.size()) std::abort();
    got.append(reinterpret_cast<const char*>(out.data()), r.produced);
    pending.erase(0, r.consumed);
    if (r.status != Tls13RecordReader::Status::kOk) {
      *failed = r.status == Tls13RecordReader::Status::kError;
      const auto again =
          reader.open(reinterpret_cast<const unsigned char*>(pending.data()), pending.size(), out.data(), out.size());
      if (again.status == Tls13RecordReader::Status::kOk || again.produced != 0) std::abort();
      break;
    }
    if (n == 0 && r.consumed == 0) break;  // the rest is an unfinished record
  }
  return got;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bool failed = false;
  // 1. The input as records.
  open_all(std::string(reinterpret_cast<const char*>(data), size), nullptr, 0, &failed);
  // 2. The real stream with the input's (position, xor) pairs.
  std::string mutated = stream().wire;
  for (std::size_t i = 0; i + 3 <= size; i += 3) {
    const std::size_t pos = (std::size_t{data[i]} << 8 | data[i + 1]) * 7 % mutated.size();
    mutated[pos] = static_cast<char>(mutated[pos] ^ (data[i + 2] | 1));
  }
  const std::string from_mutated = open_all(mutated, data, size, &failed);
  if (stream().plaintext.compare(0, from_mutated.size(), from_mutated) != 0 && !failed) std::abort();
  // 3. The real stream, cut by the input: every byte back.
  if (open_all(stream().wire, data, size, &failed) != stream().plaintext || failed) std::abort();
  return 0;
}

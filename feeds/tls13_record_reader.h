// feeds/tls13_record_reader.h
//
// Tls13RecordReader: opens the server's TLS 1.3 records after the handshake,
// in place of OpenSSL's record layer. OpenSSL still does everything else:
// the handshake, certificate and host name checks, and every write.
//
//   Tls13RecordReader reader;
//   if (reader.start(suite, secret, secret_len, &why)) {  // else: keep SSL_read
//     const auto r = reader.open(in, in_len, out, out_room);
//     // r.consumed bytes of `in` are done with; out[0, r.produced) is
//     // application data; r.status says whether the stream goes on.
//   }
//
// Why: on a trade stream every websocket message is a TLS record of ~220
// bytes, and OpenSSL 3.0 spends ~600 ns on each one's fixed costs (the
// provider's OSSL_PARAM lookups, strcmp, locks) against ~200 ns for the
// AEAD itself (bench/README.md, "The live edge"). This is the user-space
// half of what kTLS does in the kernel: OpenSSL hands over the traffic
// secret, and records are opened with one EVP context that is keyed once.
//
// What it does, RFC 8446 section 5: reads each record's 5-byte header,
// refuses anything but application_data records (ChangeCipherSpec and
// plaintext records are over once the handshake is), opens the AEAD with
// the per-record nonce (the IV xor the 64-bit sequence number) and the
// header as additional data, and strips the zero padding to find the inner
// content type:
//   * application data: handed on;
//   * handshake: NewSessionTicket is skipped (tickets are not used);
//     KeyUpdate moves to the next traffic secret (7.2) and, when the server
//     asks for it, key_update_requested() tells the caller to update its
//     own write key (through OpenSSL); anything else is an error;
//   * alert: close_notify ends the stream (kClosed), any other alert is an
//     error naming it.
// A record that fails authentication, is too long or too short, or
// carries no content type is an error; the reader stays failed after one,
// and closed after close_notify.
//
// Promises: open() never reads past in_len nor writes past out_room; it
// opens whole records only (a partial one stays unconsumed for the next
// call); it allocates only for handshake messages (tickets, rare).
// Cipher suites: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and
// TLS_CHACHA20_POLY1305_SHA256 (all that OpenSSL offers by default);
// start() refuses others, and the caller keeps OpenSSL's path.
//
// Secrets: the traffic secret, key and IV live only in this object (and in
// OpenSSL's context); they are wiped on every key change and in the
// destructor, and never printed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

struct evp_cipher_ctx_st;
struct evp_cipher_st;
struct evp_md_st;

namespace tickflow {

class Tls13RecordReader {
 public:
  enum class Status : std::uint8_t { kOk, kClosed, kError };
  struct Opened {
    std::size_t consumed = 0;  // bytes of `in` done with (whole records)
    std::size_t produced = 0;  // application data bytes written at `out`
    Status status = Status::kOk;
  };

  // The largest record the server may send (RFC 8446 5.2: 2^14 + 256 bytes
  // of ciphertext) and the most one record can write at `out`.
  static constexpr std::size_t kMaxCiphertext = 16384 + 256;
  static constexpr std::size_t kHeaderBytes = 5;
  static constexpr std::size_t kMaxPlaintextWrite = kMaxCiphertext - 16;

  Tls13RecordReader() = default;
  ~Tls13RecordReader();
  Tls13RecordReader(const Tls13RecordReader&) = delete;
  Tls13RecordReader& operator=(const Tls13RecordReader&) = delete;

  // `suite` is the IANA cipher suite id (SSL_CIPHER_get_protocol_id), and
  // `secret` the server's application traffic secret (the keylog line's
  // SERVER_TRAFFIC_SECRET_0), from which the next record is sequence 0.
  // False, with `why`, for a suite it does not handle or a failed set-up.
  bool start(std::uint16_t suite, const unsigned char* secret, std::size_t secret_len, std::string* why);
  bool started() const noexcept { return ctx_ != nullptr; }

  // Opens every complete record in `in` while its plaintext fits in the
  // room left at `out`. Give it kMaxPlaintextWrite of room at least, or a
  // record that does not fit waits (consumed and produced both 0).
  Opened open(const unsigned char* in, std::size_t in_len, unsigned char* out, std::size_t out_room);

  // True once after a KeyUpdate that asked for ours (update_requested).
  bool take_key_update_request() noexcept {
    const bool r = key_update_requested_;
    key_update_requested_ = false;
    return r;
  }

  const std::string& error() const noexcept { return error_; }
  std::uint64_t records() const noexcept { return records_; }
  std::uint64_t key_updates() const noexcept { return key_updates_; }

 private:
  bool install_keys(std::string* why);
  bool on_handshake(const unsigned char* data, std::size_t size);
  Opened fail(Opened done, std::string why);

  evp_cipher_ctx_st* ctx_ = nullptr;
  evp_cipher_st* cipher_ = nullptr;
  const evp_md_st* digest_ = nullptr;
  std::size_t key_bytes_ = 0;
  std::size_t secret_bytes_ = 0;
  unsigned char secret_[48] = {};
  unsigned char iv_[12] = {};
  std::uint64_t seq_ = 0;  // of the next record under the current key
  std::uint64_t records_ = 0;
  std::uint64_t key_updates_ = 0;
  bool key_update_requested_ = false;
  bool failed_ = false;
  bool closed_ = false;    // close_notify came: every later call says kClosed
  std::string handshake_;  // a handshake message split over records
  std::string error_;
};

}  // namespace tickflow

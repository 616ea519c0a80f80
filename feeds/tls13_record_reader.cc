// feeds/tls13_record_reader.cc: TLS 1.3 record opening (see the header).
#include "feeds/tls13_record_reader.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/ssl.h>

#include <cstring>

namespace tickflow {
namespace {

constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kIvBytes = 12;
constexpr unsigned char kApplicationData = 23;
constexpr unsigned char kHandshake = 22;
constexpr unsigned char kAlert = 21;
constexpr unsigned char kChangeCipherSpec = 20;
constexpr unsigned char kNewSessionTicket = 4;
constexpr unsigned char kKeyUpdate = 24;
// Tickets are the only post-handshake messages kept whole; none is near this.
constexpr std::size_t kMaxHandshakeMessage = 64 * 1024;

// HKDF-Expand-Label(secret, label, "", length), RFC 8446 7.1. Every length
// asked for here is at most the hash's, so HKDF-Expand is one HMAC:
// T(1) = HMAC(secret, HkdfLabel || 0x01).
bool expand_label(const EVP_MD* md, const unsigned char* secret, std::size_t secret_len, const char* label,
                  unsigned char* out, std::size_t length) {
  unsigned char info[2 + 1 + 6 + 32 + 1 + 1];
  const std::size_t label_len = std::strlen(label);
  if (label_len > 32) return false;
  std::size_t n = 0;
  info[n++] = static_cast<unsigned char>(length >> 8);
  info[n++] = static_cast<unsigned char>(length);
  info[n++] = static_cast<unsigned char>(6 + label_len);
  std::memcpy(info + n, "tls13 ", 6);
  n += 6;
  std::memcpy(info + n, label, label_len);
  n += label_len;
  info[n++] = 0;     // empty context
  info[n++] = 0x01;  // HKDF-Expand's block counter
  unsigned char block[EVP_MAX_MD_SIZE];
  unsigned int block_len = 0;
  if (HMAC(md, secret, static_cast<int>(secret_len), info, n, block, &block_len) == nullptr) return false;
  if (block_len < length) return false;
  std::memcpy(out, block, length);
  OPENSSL_cleanse(block, sizeof block);
  return true;
}

}  // namespace

Tls13RecordReader::~Tls13RecordReader() {
  if (ctx_ != nullptr) EVP_CIPHER_CTX_free(ctx_);
  if (cipher_ != nullptr) EVP_CIPHER_free(cipher_);
  OPENSSL_cleanse(secret_, sizeof secret_);
  OPENSSL_cleanse(iv_, sizeof iv_);
}

bool Tls13RecordReader::start(std::uint16_t suite, const unsigned char* secret, std::size_t secret_len,
                              std::string* why) {
  const char* cipher_name = nullptr;
  switch (suite) {
    case 0x1301: cipher_name = "AES-128-GCM", digest_ = EVP_sha256(), key_bytes_ = 16; break;
    case 0x1302: cipher_name = "AES-256-GCM", digest_ = EVP_sha384(), key_bytes_ = 32; break;
    case 0x1303: cipher_name = "ChaCha20-Poly1305", digest_ = EVP_sha256(), key_bytes_ = 32; break;
    default:
      if (why != nullptr) *why = "cipher suite " + std::to_string(suite) + " is not handled";
      return false;
  }
  if (secret_len != static_cast<std::size_t>(EVP_MD_get_size(digest_)) || secret_len > sizeof secret_) {
    if (why != nullptr) *why = "traffic secret of " + std::to_string(secret_len) + " bytes for this suite";
    return false;
  }
  cipher_ = EVP_CIPHER_fetch(nullptr, cipher_name, nullptr);
  ctx_ = cipher_ != nullptr ? EVP_CIPHER_CTX_new() : nullptr;
  if (ctx_ == nullptr) {
    if (why != nullptr) *why = std::string("no ") + cipher_name + " in this OpenSSL";
    return false;
  }
  std::memcpy(secret_, secret, secret_len);
  secret_bytes_ = secret_len;
  if (!install_keys(why)) {
    EVP_CIPHER_CTX_free(ctx_);
    ctx_ = nullptr;
    return false;
  }
  return true;
}

// Key and IV from the current traffic secret (RFC 8446 7.3); the context
// is keyed once here, and each record only sets its nonce.
bool Tls13RecordReader::install_keys(std::string* why) {
  unsigned char key[32];
  const bool ok = expand_label(digest_, secret_, secret_bytes_, "key", key, key_bytes_) &&
                  expand_label(digest_, secret_, secret_bytes_, "iv", iv_, kIvBytes) &&
                  EVP_DecryptInit_ex2(ctx_, cipher_, key, nullptr, nullptr) == 1;
  OPENSSL_cleanse(key, sizeof key);
  seq_ = 0;
  if (!ok && why != nullptr) *why = "TLS 1.3 key schedule failed";
  return ok;
}

Tls13RecordReader::Opened Tls13RecordReader::fail(Opened done, std::string why) {
  failed_ = true;
  error_ = std::move(why);
  done.status = Status::kError;
  return done;
}

Tls13RecordReader::Opened Tls13RecordReader::open(const unsigned char* in, std::size_t in_len, unsigned char* out,
                                                  std::size_t out_room) {
  Opened done;
  if (closed_) {
    done.status = Status::kClosed;
    return done;
  }
  if (failed_ || ctx_ == nullptr) return fail(done, error_.empty() ? "TLS record reader not started" : error_);
  while (in_len - done.consumed >= kHeaderBytes) {
    const unsigned char* header = in + done.consumed;
    const std::size_t length = (static_cast<std::size_t>(header[3]) << 8) | header[4];
    if (header[0] != kApplicationData) {
      return fail(done, header[0] == kChangeCipherSpec
                            ? "ChangeCipherSpec record after the handshake"
                            : "unprotected TLS record of type " + std::to_string(header[0]) + " after the handshake");
    }
    if (length > kMaxCiphertext) return fail(done, "TLS record overflow: " + std::to_string(length) + " bytes");
    if (length < kTagBytes + 1) return fail(done, "TLS record of " + std::to_string(length) + " bytes is too short");
    if (in_len - done.consumed < kHeaderBytes + length) break;  // the rest has not arrived
    const std::size_t sealed = length - kTagBytes;
    if (out_room - done.produced < sealed) break;  // the caller makes room and calls again

    // The nonce: the IV with the 64-bit sequence number xored into its
    // last 8 bytes (RFC 8446 5.3).
    unsigned char nonce[kIvBytes];
    std::memcpy(nonce, iv_, kIvBytes);
    for (int i = 0; i < 8; ++i) nonce[kIvBytes - 1 - i] ^= static_cast<unsigned char>(seq_ >> (8 * i));
    const unsigned char* body = header + kHeaderBytes;
    unsigned char* plain = out + done.produced;
    // The tag goes in by OSSL_PARAM, not EVP_CIPHER_CTX_ctrl: ctrl builds
    // the same parameter and then looks it up again, which is most of what
    // OpenSSL's own record path spends per record.
    OSSL_PARAM tag[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                                           const_cast<unsigned char*>(body + sealed), kTagBytes),
                         OSSL_PARAM_construct_end()};
    int n = 0;
    int tail = 0;
    const bool opened = EVP_DecryptInit_ex2(ctx_, nullptr, nullptr, nonce, nullptr) == 1 &&
                        EVP_DecryptUpdate(ctx_, nullptr, &n, header, kHeaderBytes) == 1 &&
                        EVP_DecryptUpdate(ctx_, plain, &n, body, static_cast<int>(sealed)) == 1 &&
                        EVP_CIPHER_CTX_set_params(ctx_, tag) == 1 && EVP_DecryptFinal_ex(ctx_, plain + n, &tail) == 1;
    if (!opened) return fail(done, "bad TLS record MAC (record " + std::to_string(records_) + ")");
    ++seq_;
    ++records_;
    done.consumed += kHeaderBytes + length;

    // TLSInnerPlaintext: content, then the content type, then zeros.
    std::size_t content = sealed;
    while (content > 0 && plain[content - 1] == 0) --content;
    if (content == 0) return fail(done, "TLS record with no content type");
    const unsigned char type = plain[--content];
    if (type == kApplicationData) {
      done.produced += content;
      continue;
    }
    if (type == kHandshake) {
      if (!on_handshake(plain, content)) return fail(done, error_);
      continue;
    }
    if (type == kAlert) {
      if (content != 2) return fail(done, "malformed TLS alert");
      if (plain[1] == 0) {  // close_notify
        done.status = Status::kClosed;
        closed_ = true;
        return done;
      }
      return fail(done, std::string("TLS alert from the server: ") + SSL_alert_desc_string_long(plain[1]));
    }
    return fail(done, "TLS record with content type " + std::to_string(type) + " after the handshake");
  }
  return done;
}

// Post-handshake messages (RFC 8446 4.6): NewSessionTicket is skipped,
// KeyUpdate changes the read key. A message may span records; a KeyUpdate
// must end its record (the next record is under the new key).
bool Tls13RecordReader::on_handshake(const unsigned char* data, std::size_t size) {
  handshake_.append(reinterpret_cast<const char*>(data), size);
  std::size_t at = 0;
  while (handshake_.size() - at >= 4) {
    const auto* m = reinterpret_cast<const unsigned char*>(handshake_.data() + at);
    const std::size_t length = (static_cast<std::size_t>(m[1]) << 16) | (static_cast<std::size_t>(m[2]) << 8) | m[3];
    if (length > kMaxHandshakeMessage) {
      error_ = "post-handshake message of " + std::to_string(length) + " bytes";
      return false;
    }
    if (handshake_.size() - at < 4 + length) break;
    if (m[0] == kKeyUpdate) {
      if (length != 1 || m[4] > 1) {
        error_ = "malformed KeyUpdate";
        return false;
      }
      if (handshake_.size() - at != 5) {  // the record holds only what came before it
        error_ = "KeyUpdate not at the end of its record";
        return false;
      }
      key_update_requested_ = key_update_requested_ || m[4] == 1;
      unsigned char next[48];
      if (!expand_label(digest_, secret_, secret_bytes_, "traffic upd", next, secret_bytes_)) {
        error_ = "TLS 1.3 key update failed";
        return false;
      }
      std::memcpy(secret_, next, secret_bytes_);
      OPENSSL_cleanse(next, sizeof next);
      if (!install_keys(&error_)) return false;
      ++key_updates_;
    } else if (m[0] != kNewSessionTicket) {
      error_ = "unexpected post-handshake message of type " + std::to_string(m[0]);
      return false;
    }
    at += 4 + length;
  }
  handshake_.erase(0, at);
  return true;
}

}  // namespace tickflow
